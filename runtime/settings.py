"""Process configuration, read once from the environment.

Every process (API, worker, dev launcher, tests) reads the same variables, so that
pointing them at one data folder, database and Temporal is all it takes to share state.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet

from connectors.egress import EgressPolicy
from connectors.event_delivery import DeliveryPolicy
from connectors.scripts import ScriptLimits
from runtime.codec import SETTING as PAYLOAD_KEY_SETTING
from runtime.codec import PayloadKeys

TASK_QUEUE = "cyclewright"
# Registered on the Temporal server by the launcher and the tests (name -> type).
SEARCH_ATTRIBUTES = {"AccountId": "Keyword", "CycleId": "Keyword", "TemplateId": "Keyword",
                     "CycleStatus": "Keyword", "RunStatus": "Keyword", "ErroredTransactions": "Int"}


@dataclass(frozen=True)
class TemporalTls:
    """TLS to the Temporal frontend: a client certificate (mutual TLS) and/or a private CA."""

    client_cert: bytes | None
    client_key: bytes | None = field(repr=False)
    server_ca: bytes | None


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    db_pool_size: int  # CYCLEWRIGHT_DB_POOL_SIZE: database connections each process keeps open
    db_max_overflow: int  # CYCLEWRIGHT_DB_MAX_OVERFLOW: more it may open at busy moments
    db_pool_timeout: float  # CYCLEWRIGHT_DB_POOL_TIMEOUT: seconds to wait for a free connection, then fail
    api_concurrency: int  # CYCLEWRIGHT_API_CONCURRENCY: requests of each lane the API works on at once
    api_queue_seconds: float  # CYCLEWRIGHT_API_QUEUE_SECONDS: how long a request waits for its turn (then 503)
    mcp_calls_per_minute: int  # CYCLEWRIGHT_MCP_CALLS_PER_MINUTE: MCP tool calls of one account a minute
    mcp_run_wait: float  # CYCLEWRIGHT_MCP_RUN_WAIT_SECONDS: how long a template tool's call waits for its transactions
    temporal_address: str
    temporal_namespace: str
    temporal_tls: TemporalTls | None  # TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA: files, read once
    temporal_api_key: str | None = field(repr=False)  # Temporal Cloud's API key; implies TLS
    payload_keys: PayloadKeys | None  # PAYLOAD_ENCRYPTION_KEY: payloads are encrypted when set
    codec_cors_origins: tuple[str, ...]  # the Temporal Web UI's origins, allowed to call /codec from a browser
    codec_sso: tuple[str, str | None, str | None] | None  # JWKS URL, issuer, audience of the UI's sign-in
    secret_key: str
    client_id: str
    client_secret: str
    token_signing_key: str
    allow_short_intervals: bool
    public_url: str
    webhook_tolerance: float  # CYCLEWRIGHT_WEBHOOK_TOLERANCE_SECONDS: how long a signed webhook event is taken
    batch_size: int
    step_concurrency: int
    http_timeout: float
    upstream_retry_hours: float
    step_retries: int  # a step with OnError Retry tries a failed call this many more times
    retention_days: float
    egress: EgressPolicy  # CYCLEWRIGHT_EGRESS_ALLOW: non-public networks and hosts the engine may call
    strict_event_loop: bool  # fail any database call made on the API's event loop (the tests set it)
    script_limits: ScriptLimits  # CYCLEWRIGHT_SCRIPT_SECONDS, CYCLEWRIGHT_SCRIPT_MEMORY_MB: each connector script's
    log_format: str  # CYCLEWRIGHT_LOG_FORMAT: text, or json (one object a line, with the ids it is about)
    metrics_port: int | None  # CYCLEWRIGHT_METRICS_PORT: where the worker serves /metrics (none: not served)
    events: DeliveryPolicy  # CYCLEWRIGHT_EVENT_*: how events to the partner's backend are retried
    event_poll_seconds: float  # CYCLEWRIGHT_EVENT_POLL_SECONDS: how often the worker looks for due deliveries

    def webhook_url(self, webhook_id: str) -> str:
        """Where a Webhook step's events are posted ({{Webhook_Url}})."""
        return f"{self.public_url.rstrip('/')}/v1.0/webhooks/{webhook_id}"


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """A generated secret survives restarts by living in the data folder."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _egress(allow: str) -> EgressPolicy:
    try:
        return EgressPolicy.parse(allow, setting="CYCLEWRIGHT_EGRESS_ALLOW")
    except ValueError as err:
        raise SystemExit(f"CYCLEWRIGHT_EGRESS_ALLOW: {err}") from None


def _payload_keys(text: str) -> PayloadKeys | None:
    try:
        return PayloadKeys.parse(text) if text.strip() else None
    except ValueError as err:  # names the entry or key id, never the key
        raise SystemExit(f"{PAYLOAD_KEY_SETTING}: {err}") from None


def _file(name: str) -> bytes | None:
    path = os.environ.get(name)
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise SystemExit(f"{name}: cannot read {path}: {err.strerror}") from None


def _temporal_tls() -> TemporalTls | None:
    tls = TemporalTls(_file("TEMPORAL_TLS_CERT"), _file("TEMPORAL_TLS_KEY"), _file("TEMPORAL_TLS_CA"))
    if (tls.client_cert is None) != (tls.client_key is None):
        raise SystemExit("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both (a client certificate and its key) "
                         "or neither")
    return tls if tls.client_cert or tls.server_ca else None


def _origins(text: str) -> tuple[str, ...]:
    origins = tuple(origin.strip() for origin in text.split(",") if origin.strip())
    if "*" in origins:  # the browser's codec sign-in is a cookie: only named origins may send it
        raise SystemExit("CYCLEWRIGHT_CODEC_CORS_ORIGINS: name the Web UI's origins; '*' is not allowed")
    return origins


def _log_format(name: str) -> str:
    if name not in ("text", "json"):
        raise SystemExit(f"CYCLEWRIGHT_LOG_FORMAT: {name!r} is neither text nor json")
    return name


@cache
def settings() -> Settings:
    env = os.environ.get
    data_dir = Path(env("CYCLEWRIGHT_DATA_DIR", ".data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return Settings(
        data_dir=data_dir,
        database_url=env("DATABASE_URL") or f"sqlite:///{data_dir / 'cyclewright.db'}",
        db_pool_size=int(env("CYCLEWRIGHT_DB_POOL_SIZE", "5")),
        db_max_overflow=int(env("CYCLEWRIGHT_DB_MAX_OVERFLOW", "10")),
        db_pool_timeout=float(env("CYCLEWRIGHT_DB_POOL_TIMEOUT", "5")),
        api_concurrency=int(env("CYCLEWRIGHT_API_CONCURRENCY", "4")),
        api_queue_seconds=float(env("CYCLEWRIGHT_API_QUEUE_SECONDS", "5")),
        mcp_calls_per_minute=int(env("CYCLEWRIGHT_MCP_CALLS_PER_MINUTE", "120")),
        mcp_run_wait=float(env("CYCLEWRIGHT_MCP_RUN_WAIT_SECONDS", "30")),
        temporal_address=env("TEMPORAL_ADDRESS", "localhost:7233"),
        temporal_namespace=env("TEMPORAL_NAMESPACE", "default"),
        temporal_tls=_temporal_tls(),
        temporal_api_key=env("TEMPORAL_API_KEY") or None,
        payload_keys=_payload_keys(env(PAYLOAD_KEY_SETTING, "")),
        codec_cors_origins=_origins(env("CYCLEWRIGHT_CODEC_CORS_ORIGINS", "http://localhost:8233,http://127.0.0.1:8233")),
        codec_sso=(env("CYCLEWRIGHT_CODEC_SSO_JWKS_URL"), env("CYCLEWRIGHT_CODEC_SSO_ISSUER") or None,
                   env("CYCLEWRIGHT_CODEC_SSO_AUDIENCE") or None) if env("CYCLEWRIGHT_CODEC_SSO_JWKS_URL") else None,
        secret_key=env("CYCLEWRIGHT_SECRET_KEY")
        or _read_or_create(data_dir / "secret.key", lambda: Fernet.generate_key().decode()),
        client_id=env("CYCLEWRIGHT_CLIENT_ID", "cyclewright-dev"),
        client_secret=env("CYCLEWRIGHT_CLIENT_SECRET")
        or _read_or_create(data_dir / "client.secret", lambda: secrets.token_urlsafe(24)),
        token_signing_key=env("CYCLEWRIGHT_TOKEN_KEY")
        or _read_or_create(data_dir / "token.key", lambda: secrets.token_urlsafe(32)),
        allow_short_intervals=env("CYCLEWRIGHT_ALLOW_SHORT_INTERVALS") == "1",
        public_url=env("CYCLEWRIGHT_PUBLIC_URL", "http://127.0.0.1:8000"),
        webhook_tolerance=float(env("CYCLEWRIGHT_WEBHOOK_TOLERANCE_SECONDS", "300")),
        batch_size=int(env("CYCLEWRIGHT_BATCH_SIZE", "500")),
        step_concurrency=int(env("CYCLEWRIGHT_STEP_CONCURRENCY", "10")),
        http_timeout=float(env("CYCLEWRIGHT_HTTP_TIMEOUT", "30")),
        upstream_retry_hours=float(env("CYCLEWRIGHT_UPSTREAM_RETRY_HOURS", "24")),
        step_retries=int(env("CYCLEWRIGHT_STEP_RETRIES", "4")),
        retention_days=float(env("CYCLEWRIGHT_RETENTION_DAYS", "31")),
        egress=_egress(env("CYCLEWRIGHT_EGRESS_ALLOW", "")),
        strict_event_loop=env("CYCLEWRIGHT_STRICT_EVENT_LOOP") == "1",
        script_limits=ScriptLimits(float(env("CYCLEWRIGHT_SCRIPT_SECONDS", "10")),
                                   int(env("CYCLEWRIGHT_SCRIPT_MEMORY_MB", "128"))),
        log_format=_log_format(env("CYCLEWRIGHT_LOG_FORMAT", "text")),
        metrics_port=int(port) if (port := env("CYCLEWRIGHT_METRICS_PORT")) else None,
        events=DeliveryPolicy(attempts=int(env("CYCLEWRIGHT_EVENT_ATTEMPTS", "15")),
                              first_backoff=float(env("CYCLEWRIGHT_EVENT_BACKOFF_SECONDS", "30")),
                              max_backoff=float(env("CYCLEWRIGHT_EVENT_MAX_BACKOFF_SECONDS", "3600")),
                              max_age=float(env("CYCLEWRIGHT_EVENT_MAX_AGE_HOURS", "72")) * 3600,
                              timeout=float(env("CYCLEWRIGHT_EVENT_TIMEOUT", "10"))),
        event_poll_seconds=float(env("CYCLEWRIGHT_EVENT_POLL_SECONDS", "1")),
    )
