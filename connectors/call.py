"""One connector method call, end to end: mergefields, auth, request, response → records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx

from connectors.auth import (
    Credentials,
    RequestParts,
    apply_auth,
    auth_mergefields,
    carries_credentials,
    secrets_of,
)
from connectors.bodies import decode, encode, outbound_chunks
from connectors.egress import EgressRefused
from connectors.errors import (
    ConnectorError,
    InvalidCredentials,
    RetryableError,
    StepError,
    Unauthorized,
    UnknownParameter,
    parse_retry_after,
    redact,
)
from connectors.exchange import Exchange, exchange_of
from connectors.limits import Limiter, acquire, buckets
from connectors.mergefields import names, render
from connectors.oauth import TokenStore, bearer
from connectors.paging import Cursor, Paging, control, digest
from connectors.paths import body_from_values, count_records, records_from_body
from connectors.spec import Authentication, Connector, Method, Parameter
from connectors.urls import checked_url, endpoint_origin, origin_of

IGNORE = "IGNORE_PARAMETER"
RETRYABLE_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class CallResult:
    status: int
    body: Any
    next_cursor: Cursor | None = None  # None: this was the last page
    warning: str | None = None
    count: int = 0  # records in the response, before FilterFields: what paging counts
    map_records: Callable[[], list[dict[str, Any]]] = field(default=list, repr=False, compare=False)

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        """The response mapped by SystemField; worked out on first use, so that a pager can
        have the next page in flight while this one is mapped."""
        return self.map_records()


def call_parameters(connector: Connector, method: Method) -> list[Parameter]:
    """Connector parameters apply to every method unless the method overrides or ignores them."""
    own = {p.key: p for p in method.Parameters}
    inherited = [p for p in connector.Parameters if p.key not in own]
    return inherited + [p for p in method.Parameters if p.DefaultValue != IGNORE]


def settable(param: Parameter) -> bool:
    """Whether a call (or a template's mapping) may set the parameter: a visible one, not an
    account connector's property (those decide where credentials go) nor a paging control."""
    return not (param.Hide or param.IsAccountConnectorProperty or control(param))


def _settable(params: list[Parameter]) -> set[str]:
    visible = [p for p in params if settable(p)]
    return {p.key for p in visible} | {p.TargetName for p in visible if p.TargetName}


def _check_parameters(parameters: Mapping[str, str], params: list[Parameter]) -> None:
    unknown = sorted(set(parameters) - _settable(params))
    if unknown:
        allowed = ", ".join(sorted(_settable(params))) or "none"
        raise UnknownParameter(f"the method has no parameter {', '.join(repr(u) for u in unknown)} that a call "
                               f"may set (it may set: {allowed})")


def _trusted(connector: Connector, credentials: Credentials) -> dict[str, str]:
    """The values that decide where credentials may go: connector defaults and the account
    connector's properties; nothing a caller or a record supplies."""
    known = {p.Name: p.DefaultValue for p in connector.Parameters if p.Name and p.DefaultValue is not None}
    return known | dict(credentials.properties)


def _authorized(target: httpx.URL, connector: Connector, method: Method, trusted: Mapping[str, str]) -> bool:
    """Whether credentials go with a request to `target`: only to an origin of the connector's
    endpoints (a next URL elsewhere is followed without them)."""
    origin = origin_of(target)
    if origin == endpoint_origin(method.Endpoint, trusted):
        return True
    return any(origin == endpoint_origin(m.Endpoint, trusted) for m in connector.Methods)


def _mergefield_values(
    trusted: Mapping[str, str], credentials: Credentials, mergefields: Mapping[str, Any], parameters: Mapping[str, str]
) -> dict[str, Any]:
    values: dict[str, Any] = dict(trusted)
    values.update(auth_mergefields(credentials))
    values.update(mergefields)
    values.update(parameters)
    return values


def _request_parts(
    params: list[Parameter], paging: Paging, cursor: Cursor, values: Mapping[str, Any],
    parameters: Mapping[str, str], authorized: bool,
) -> RequestParts:
    parts = RequestParts()
    for param in params:
        if param.TargetType not in ("QueryString", "HttpHeader") or not param.TargetName:
            continue
        if not authorized and (param.IsSensitive or carries_credentials(param.DefaultValue)):
            continue  # a secret of the connector's goes where its credentials go
        if control(param):
            value = paging.request_value(param, cursor)
        else:
            value = parameters.get(param.key) or parameters.get(param.TargetName)
            if value is None and param.DefaultValue is not None:
                value = render(param.DefaultValue, values)
        if value in (None, ""):
            continue
        target = parts.query if param.TargetType == "QueryString" else parts.headers
        target[param.TargetName] = str(value)
    return parts


def _body(method: Method, fields: Mapping[str, Any], parts: RequestParts, values: Mapping[str, Any],
          authorized: bool) -> Any:
    """The request body as data: the request fields (a default may hold mergefields, such as
    {{Webhook_Url}}), and an API key sent in the body."""
    given = dict(fields)
    for f in method.request_fields:
        default = f.DefaultValue
        if given.get(f.SystemField) in (None, "") and isinstance(default, str) and names(default) \
                and (authorized or not carries_credentials(default)):
            given[f.SystemField] = render(default, values)
    body: Any = body_from_values(method.request_fields, given) if method.request_fields else {}
    if isinstance(body, dict):
        body.update(parts.body_fields)
    return body


def _secret_names(authentication: Authentication | None, params: list[Parameter]) -> set[str]:
    """Headers, query parameters and body fields whose values the debugger masks: an API key's,
    sensitive parameters', and those of parameters made of credentials (lower case)."""
    names = {p.TargetName.lower() for p in params
             if p.TargetName and (p.IsSensitive or carries_credentials(p.DefaultValue))}
    if authentication and authentication.AuthType == "ApiKey":
        names.add((authentication.ApiKeyName or "api_key").lower())
    return names


def _raise_for_status(response: httpx.Response, call: _Call, masked: set[str]) -> None:
    status = response.status_code
    if status < 400:
        return
    exchange = exchange_of(response.request, response, call.secrets, masked)
    details = {**call.context, "status": status, "excerpt": exchange.response_body, "exchange": exchange}
    reason = response.reason_phrase or "error"
    if status == 401:
        raise Unauthorized(reason, **details)
    if status in RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise RetryableError(reason, retry_after=retry_after, **details)
    raise StepError(reason, **details)


@dataclass
class _Call:
    """Everything about one call that does not change if it is sent twice."""

    connector: Connector
    method: Method
    authentication: Authentication | None
    credentials: Credentials
    secrets: list[str]
    on_exchange: Callable[[Exchange], None] | None
    authorized: bool = False  # whether the target's origin may receive the credentials

    @property
    def context(self) -> dict[str, Any]:
        return {"connector": self.connector.Name, "method": self.method.UniqueIdentifier}


async def call_method(
    client: httpx.AsyncClient,
    connector: Connector,
    method_id: str,
    *,
    credentials: Credentials,
    authentication: str | None = None,
    fields: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str] | None = None,
    mergefields: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    cursor: Cursor | None = None,
    limiter: Limiter | None = None,
    limit_key: str | None = None,
    max_wait: float = 2.0,
    tokens: TokenStore | None = None,
    on_exchange: Callable[[Exchange], None] | None = None,
) -> CallResult:
    """One request: the first page, or the page `cursor` (from a previous result) points at."""
    try:
        method = connector.method(method_id)
    except KeyError:
        raise StepError("the connector has no such method", connector=connector.Name, method=method_id) from None
    call = _Call(connector, method, connector.authentication(authentication), credentials,
                 secrets_of(credentials, connector), on_exchange)
    cursor, parameters = cursor or {}, parameters or {}
    try:
        params = call_parameters(connector, method)
        _check_parameters(parameters, params)
        trusted = _trusted(connector, credentials)
        values = _mergefield_values(trusted, credentials, mergefields or {}, parameters)
        paging = Paging.of(connector, method, params)
        # A next-page URL carries its own query; add only what it lacks (an API key, say).
        next_url = cursor.get("next_url")
        target = checked_url(next_url or render(method.Endpoint, values), call.secrets,
                             "the next-page URL" if next_url else "the URL")
        call.authorized = _authorized(target, connector, method, trusted)
        if not (call.authorized or next_url) and carries_credentials(method.Endpoint):
            raise StepError(f"the URL would carry the credentials to {target.scheme}://{target.netloc.decode()}, "
                            "which is not one of the connector's endpoint origins")
        parts = _request_parts(params, paging, cursor, values, parameters, call.authorized)
        if call.authorized:
            apply_auth(parts, call.authentication, credentials)
        if idempotency_key and method.IdempotencyKeyHeader:
            parts.headers[method.IdempotencyKeyHeader] = idempotency_key
        missing = {k: v for k, v in parts.query.items() if k not in target.params}
        target = target.copy_merge_params(missing) if missing else target
        masked = _secret_names(call.authentication, params)
        pages, count, response = [], 0, None
        wanted = buckets(connector, method, limit_key or connector.Name)
        chunks = outbound_chunks(connector, method, _body(method, fields or {}, parts, values, call.authorized))
        for number, body in enumerate(chunks, 1):
            if limiter is not None and wanted:
                await acquire(limiter, wanted, max_wait)
            headers = parts.headers
            if idempotency_key and method.IdempotencyKeyHeader and len(chunks) > 1:
                # Each chunk is a write of its own: a resent chunk is recognised, not a later one.
                headers = {**headers, method.IdempotencyKeyHeader: f"{idempotency_key}-{number}"}
            response = await _send_body(client, call, target, headers, body, masked, tokens)
            _raise_for_status(response, call, masked)
            payload = decode(method, response)
            page = digest(response.content)
            if not paging.repeats(cursor, page):  # a repeated page's records were read already
                pages.append(payload)
                count += count_records(payload, method.response_fields)
    except ConnectorError as err:
        err.connector, err.method = connector.Name, method_id
        raise
    next_cursor, warning = paging.next_cursor(cursor, params, payload, page, response.links, count,
                                              response.url)

    def map_records() -> list[dict[str, Any]]:
        mapped = [r for p in pages for r in records_from_body(p, method.response_fields)]
        return _filtered(mapped, params, parameters, values)

    return CallResult(response.status_code, payload, next_cursor, warning, count, map_records)


def _filtered(
    records: list[dict[str, Any]], params: list[Parameter], parameters: Mapping[str, str], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """FilterField parameters keep the records whose field (TargetName) equals their value."""
    for param in params:
        if param.TargetType != "FilterField" or not param.TargetName:
            continue
        wanted = parameters.get(param.key)
        if wanted is None and param.DefaultValue is not None:
            wanted = render(param.DefaultValue, values)
        if wanted not in (None, ""):
            records = [r for r in records if str(r.get(param.TargetName)) == str(wanted)]
    return records


async def _send_body(
    client: httpx.AsyncClient, call: _Call, target: httpx.URL, headers: dict[str, str], body: Any,
    masked: set[str], tokens: TokenStore | None,
) -> httpx.Response:
    """One request carrying `body` in the method's DataType, with the connector's auth."""
    encoded = encode(call.method, body)
    headers = {**headers, **encoded.pop("headers", {})}

    def build(with_headers: dict[str, str]) -> httpx.Request:
        verb = call.method.HttpMethod.upper()
        try:
            return client.build_request(verb, target, headers=with_headers, **encoded)
        except UnicodeEncodeError:  # a header value that is not ASCII: no retry can send it
            raise _unsendable_header(with_headers, call.secrets) from None

    if call.authorized and call.authentication is not None and call.authentication.AuthType == "OAuth2":
        return await _send_with_token(client, call, build, headers, masked, tokens)
    return await _send(client, call, build(headers), masked)


def _unsendable_header(headers: Mapping[str, str], secrets: list[str]) -> ConnectorError:
    """The error for a non-ASCII header: the credentials' fault if it carries one of them."""
    name, value = next(((k, v) for k, v in headers.items() if not (k + v).isascii()), ("?", ""))
    why = f"cannot be sent in the '{name}' header: it must be ASCII"
    if any(s in value for s in secrets):
        return InvalidCredentials(f"the AuthValue {why}")
    return StepError(f"the value {why}")


async def _send(client: httpx.AsyncClient, call: _Call, request: httpx.Request, masked: set[str]) -> httpx.Response:
    try:
        response = await client.send(request)
    except (httpx.TransportError, EgressRefused) as err:
        raise _unsent(call, request, masked, err) from None
    if call.on_exchange:
        call.on_exchange(exchange_of(request, response, call.secrets, masked))
    return response


def _unsent(call: _Call, request: httpx.Request, masked: set[str], err: Exception) -> ConnectorError:
    """The error for a request that got no response, with the exchange the debugger shows.
    Timeouts and connection failures may pass; a refused address or an unusable URL will not."""
    match err:
        case EgressRefused():
            kind, reason = EgressRefused, err.reason
        case httpx.UnsupportedProtocol():
            kind, reason = StepError, f"the URL cannot be sent: {redact(str(err), call.secrets)}"
        case httpx.TimeoutException():
            kind, reason = RetryableError, "the request timed out"
        case _:
            kind, reason = RetryableError, f"connection failed: {redact(str(err), call.secrets)}"
    exchange = exchange_of(request, None, call.secrets, masked, error=reason)
    if call.on_exchange:
        call.on_exchange(exchange)
    return kind(reason, exchange=exchange, **call.context)


async def _send_with_token(
    client: httpx.AsyncClient, call: _Call, build: Callable[[dict[str, str]], httpx.Request],
    headers: dict[str, str], masked: set[str], tokens: TokenStore | None,
) -> httpx.Response:
    """Send with the account connector's OAuth token; after a 401, refresh once and resend."""
    if tokens is None:
        raise ConnectorError("OAuth2 needs the account connector's token store")
    token = await bearer(call.authentication, call.credentials, tokens, client)
    for attempt in range(2):
        call.secrets.append(token.access_token)
        response = await _send(client, call, build({**headers, "Authorization": f"Bearer {token.access_token}"}),
                               masked)
        if response.status_code != 401 or attempt == 1:
            return response
        token = await bearer(call.authentication, call.credentials, tokens, client, rejected=token)
    return response
