"""Telemetry that costs nothing when off (issue 16): with no exporter configured the API makes
no span at all (no ASGI middleware, no httpx hooks, no Temporal interceptor: a tracer provider
set afterwards sees nothing), and with one configured its sampler is honoured (always_off: no
span recorded; always_on: the request's, the upstream call's and the Temporal call's).
Each case runs in a process of its own (tests/spans.py): a process sets its tracer provider once.
tests/e2e/test_traces.py shows what the spans carry when tracing is on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from runtime.launcher import ROOT

UNSET = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
         "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SDK_DISABLED")


def spans(demo_url: str, tmp_path, **otel: str) -> list[str]:
    """The names of the spans the API made in a process with these OTEL_* variables."""
    env = {name: value for name, value in os.environ.items() if name not in UNSET} | otel
    result = tmp_path / "spans.json"
    subprocess.run([sys.executable, "-m", "tests.spans", demo_url, str(result)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)  # the console exporter prints what it exports
    return json.loads(result.read_text())


@pytest.mark.usefixtures("temporal")
def test_with_no_exporter_configured_no_span_is_made(demo, tmp_path):
    assert spans(demo.url, tmp_path) == []


@pytest.mark.usefixtures("temporal")
def test_a_configured_sampler_is_honoured(demo, tmp_path):
    assert spans(demo.url, tmp_path, OTEL_TRACES_EXPORTER="console", OTEL_TRACES_SAMPLER="always_off") == []

    sampled = spans(demo.url, tmp_path, OTEL_TRACES_EXPORTER="console", OTEL_TRACES_SAMPLER="always_on")
    assert {"GET /v1.0/accounts", "POST /oauth/token", "GET", "SignalWorkflow:nothing"} <= set(sampled), sampled
