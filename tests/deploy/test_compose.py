"""deploy/docker-compose.yml: valid against the Compose Specification's JSON schema, and whole.

The images cannot be pulled here, so the file is checked, not run: the schema (vendored from the
npm package dclint 3.1.0, schemas/compose.schema.json; the Compose Specification's, Apache-2.0,
compose-spec.LICENSE), then what the schema cannot see: references between services, the
settings every API and worker process needs, ports, and the files the services mount.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCHEMA = Path(__file__).with_name("compose-spec.json")
# What every API and worker process must be given (README "Configuration"; shared secrets included).
NEEDED = {"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "CYCLEWRIGHT_PUBLIC_URL",
          "PAYLOAD_ENCRYPTION_KEY", "CYCLEWRIGHT_SECRET_KEY", "CYCLEWRIGHT_TOKEN_KEY",
          "CYCLEWRIGHT_CLIENT_ID", "CYCLEWRIGHT_CLIENT_SECRET", "OTEL_EXPORTER_OTLP_ENDPOINT"}
SECRETS = {"PAYLOAD_ENCRYPTION_KEY", "CYCLEWRIGHT_SECRET_KEY", "CYCLEWRIGHT_TOKEN_KEY", "CYCLEWRIGHT_CLIENT_SECRET"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())  # merge keys (<<) resolved, as compose does


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def by_command(compose: dict, word: str) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if word in " ".join(s.get("command", []))}


def environment(service: dict, env_example: dict[str, str]) -> dict[str, str]:
    """What the process sees: its env_file (.env is made from .env.example), then `environment`."""
    files = service.get("env_file", [])
    assert files in (".env", [".env"], []), "only deploy/.env, made from .env.example"
    return {**(env_example if files else {}), **{k: str(v) for k, v in service.get("environment", {}).items()}}


def test_the_compose_file_is_valid_against_the_compose_specification(compose):
    errors = sorted(Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_two_apis_and_two_workers_start_after_the_one_shot_setup(compose):
    apis, workers = by_command(compose, "api.app:app"), by_command(compose, "worker.py")
    (setup,) = by_command(compose, "cyclewright setup").values()
    assert len(apis) == 2 and len(workers) == 2
    assert "cyclewright db upgrade" in " ".join(setup["command"]) and setup["restart"] == "no"
    setup_name = next(name for name, s in compose["services"].items() if s is setup)
    for service in [*apis.values(), *workers.values()]:
        assert service["depends_on"][setup_name] == {"condition": "service_completed_successfully"}


def test_every_dependency_names_a_service_that_can_meet_its_condition(compose):
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for other in depends:
            assert other in services, f"{name} depends on {other}, which is no service"
            condition = depends[other]["condition"] if isinstance(depends, dict) else "service_started"
            if condition == "service_healthy":
                assert "healthcheck" in services[other], f"{name} waits for {other} to be healthy: it has no check"


def test_every_api_and_worker_has_the_settings_and_the_workers_serve_metrics(compose, env_example):
    for name, service in {**by_command(compose, "api.app:app"), **by_command(compose, "worker.py")}.items():
        missing = NEEDED - environment(service, env_example).keys()
        assert not missing, f"{name} lacks {sorted(missing)}"
    for name, service in by_command(compose, "worker.py").items():
        assert environment(service, env_example)["CYCLEWRIGHT_METRICS_PORT"].isdigit(), name


def test_secrets_come_from_the_env_file_only(compose, env_example):
    assert SECRETS <= env_example.keys() and not any(env_example[name] for name in SECRETS), \
        "the example names every shared secret and holds none"
    for name, service in compose["services"].items():
        assert not SECRETS & service.get("environment", {}).keys(), f"{name} sets a secret in the compose file"
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert set(re.findall(r"(?<!\$)\$\{(\w+)\}", text)) <= env_example.keys(), "every ${VAR} is in .env.example"


def test_published_ports_are_unique(compose):
    published = [str(p).rsplit(":", 1)[0] for s in compose["services"].values() for p in s.get("ports", [])]
    assert len(published) == len(set(published)), published


def test_mounted_config_files_exist(compose):
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            if volume.startswith("./"):
                assert (DEPLOY / volume.split(":")[0]).is_file(), volume


def test_the_ui_decodes_through_the_api_as_the_browser_reaches_it(compose, env_example):
    services = compose["services"]
    ui = next(s for s in services.values() if s["image"].startswith("temporalio/ui"))
    ui_port = ui["ports"][0].split(":")[0]
    (api_port,) = {p.split(":")[0] for s in services.values() for p in s.get("ports", []) if p.endswith(":8000")}
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{api_port}/codec"
    for service in by_command(compose, "api.app:app").values():
        settings = environment(service, env_example)
        assert f"http://localhost:{ui_port}" in settings["CYCLEWRIGHT_CODEC_CORS_ORIGINS"].split(",")
        assert settings["CYCLEWRIGHT_PUBLIC_URL"] == f"http://localhost:{api_port}"


def test_prometheus_scrapes_each_api_and_worker_and_the_collector_takes_otlp_http(compose, env_example):
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    apis, workers = by_command(compose, "api.app:app"), by_command(compose, "worker.py")
    assert targets == {f"{name}:8000" for name in apis} | {
        f"{name}:{environment(s, env_example)['CYCLEWRIGHT_METRICS_PORT']}" for name, s in workers.items()}
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    endpoint = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert "otlp" in collector["service"]["pipelines"]["traces"]["receivers"]
    for name, service in {**apis, **workers}.items():
        otlp = environment(service, env_example)["OTEL_EXPORTER_OTLP_ENDPOINT"]
        host, port = otlp.removeprefix("http://").split(":")
        assert host in compose["services"] and port == endpoint.rsplit(":", 1)[1], name
