"""The connector engine: a pure library (no Temporal, no database)."""

from connectors.auth import Credentials
from connectors.call import CallResult, PreparedCall, call_method, prepare
from connectors.errors import (
    ConfigurationError,
    ConnectorError,
    FieldValueError,
    InvalidCredentials,
    InvalidUrl,
    MissingMergefield,
    RetryableError,
    ScriptError,
    StepError,
    Unauthorized,
)
from connectors.exchange import Exchange
from connectors.fetch import Pages, fetch_pages, iter_pages
from connectors.limits import Limiter, RateLimited
from connectors.schema import connector_json_schema
from connectors.spec import Authentication, Connector, FieldSpec, Method, Parameter
from connectors.validation import (
    ConnectorInvalid,
    Problem,
    ignored_properties,
    load_connector,
    parse_connector,
)

__all__ = [
    "Authentication",
    "CallResult",
    "ConfigurationError",
    "Connector",
    "ConnectorError",
    "ConnectorInvalid",
    "Credentials",
    "Exchange",
    "FieldSpec",
    "FieldValueError",
    "InvalidCredentials",
    "InvalidUrl",
    "Limiter",
    "Method",
    "MissingMergefield",
    "Pages",
    "Parameter",
    "PreparedCall",
    "Problem",
    "RateLimited",
    "RetryableError",
    "ScriptError",
    "StepError",
    "Unauthorized",
    "call_method",
    "connector_json_schema",
    "fetch_pages",
    "ignored_properties",
    "iter_pages",
    "load_connector",
    "parse_connector",
    "prepare",
]
