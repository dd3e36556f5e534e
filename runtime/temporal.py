"""The Temporal client every process uses: same address, namespace, TLS, payload converter and
tracing (the context of an API request travels to the workflows and activities it starts)."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig, TLSConfig

from runtime.codec import EncryptionCodec
from runtime.settings import Settings
from runtime.telemetry import tracing_interceptors


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted when PAYLOAD_ENCRYPTION_KEY is set; failures' messages and
    stack traces then travel in their encoded attributes, encrypted with the payloads (a failure
    names upstream hosts and quotes their errors)."""
    if settings.payload_keys is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(settings.payload_keys),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def _tls(settings: Settings) -> TLSConfig | None:
    """TLS with the files given; None leaves it to the SDK: on with an API key (Temporal Cloud), else off."""
    tls = settings.temporal_tls
    if tls is None:
        return None
    return TLSConfig(server_root_ca_cert=tls.server_ca, client_cert=tls.client_cert, client_private_key=tls.client_key)


# The API's calls give up after about 1.5 s of retries when Temporal does not answer (the
# SDK's default is 10 s): a call that needs Temporal answers 503 in about 2 s.
BRIEF_RETRIES = RetryConfig(initial_interval_millis=100, max_interval_millis=500, max_elapsed_time_millis=1500)


async def connect(settings: Settings, lazy: bool = False, runtime: Runtime | None = None,
                  retry_config: RetryConfig | None = None) -> Client:
    """`lazy`: connect on first use, so a process can start (and answer 503) while Temporal is down.
    `runtime`: the worker's, which reports the SDK's metrics (runtime/metrics.py).
    `retry_config`: how long calls are retried while Temporal does not answer (the SDK's default
    otherwise; BRIEF_RETRIES for the API)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=_tls(settings),
        api_key=settings.temporal_api_key,
        interceptors=tracing_interceptors(),  # none when the process does not trace
        lazy=lazy,
        runtime=runtime,
        retry_config=retry_config,
    )
