"""One connector method call, end to end: mergefields, auth, request, response → records."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from yarl import URL

from connectors import hooks, inputs, metering, nesting
from connectors.auth import (
    AUTH_MERGEFIELDS,
    Credentials,
    RequestParts,
    apply_auth,
    auth_mergefields,
    carries_credentials,
    secrets_of,
)
from connectors.bodies import decode, encode, outbound_chunks
from connectors.egress import EgressRefused
from connectors.encoding import query_value
from connectors.errors import (
    ConnectorError,
    InvalidCredentials,
    RetryableError,
    ScriptError,
    StepError,
    Unauthorized,
    UnknownParameter,
    parse_retry_after,
    redact,
)
from connectors.exchange import Exchange, exchange_of, shown_url
from connectors.hooks import Scripting
from connectors.limits import Limiter, acquire, buckets
from connectors.mergefields import names, render
from connectors.oauth import TokenStore, bearer
from connectors.paging import Cursor, Paging, control, digest
from connectors.paths import body_from_values, count_records, records_from_body
from connectors.redirects import follow, redirect_reason
from connectors.scripts import ScriptSession, levels_of, mentions
from connectors.spec import Authentication, Connector, Method, Parameter
from connectors.transport import (
    HttpClient,
    Request,
    Response,
    TimedOut,
    Unsendable,
    Unsent,
    build_request,
    header_dict,
)
from connectors.urls import Origin, checked_url, endpoint_origin, origin_of

IGNORE = "IGNORE_PARAMETER"
NO_SCRIPTING = Scripting()  # the connector's and the method's scripts still run
RETRYABLE_STATUSES = {408, 425, 429}
SHOWN_URLS = 256  # URLs a prepared call remembers as shown


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


def _check_parameters(parameters: Mapping[str, str], settable: set[str]) -> None:
    unknown = sorted(set(parameters) - settable)
    if unknown:
        allowed = ", ".join(sorted(settable)) or "none"
        raise UnknownParameter(f"the method has no parameter {', '.join(repr(u) for u in unknown)} that a call "
                               f"may set (it may set: {allowed})")


def _trusted(connector: Connector, credentials: Credentials) -> dict[str, str]:
    """The values that decide where credentials may go: connector defaults and the account
    connector's properties; nothing a caller or a record supplies."""
    return connector.property_values(credentials.properties)


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
        if value in (None, "", []):
            continue
        if param.TargetType == "QueryString":
            parts.query[param.TargetName] = query_value(value, param.Explode)
        else:
            parts.headers[param.TargetName] = query_value(value, explode=False)
    return parts


def _body(method: Method, fields: Mapping[str, Any], values: Mapping[str, Any], authorized: bool) -> Any:
    """The request body as data: the request fields (a default may hold mergefields, such as
    {{Webhook_Url}}); None when the method has no request fields: it sends no body."""
    given = dict(fields)
    for f in method.request_fields:
        default = f.DefaultValue
        if given.get(f.SystemField) in (None, "") and isinstance(default, str) and names(default) \
                and (authorized or not carries_credentials(default)):
            given[f.SystemField] = render(default, values)
    return body_from_values(method.request_fields, given) if method.request_fields else None


def _secret_names(authentication: Authentication | None, params: list[Parameter]) -> set[str]:
    """Headers, query parameters and body fields whose values the debugger masks: an API key's,
    sensitive parameters', and those of parameters made of credentials (lower case)."""
    names = {p.TargetName.lower() for p in params
             if p.TargetName and (p.IsSensitive or carries_credentials(p.DefaultValue))}
    if authentication and authentication.AuthType == "ApiKey":
        names.add((authentication.ApiKeyName or "api_key").lower())
    return names


def _status_error(response: Response, call: PreparedCall, masked: set[str]) -> ConnectorError | None:
    """The error an HTTP status other than 2xx makes, or None for a success."""
    status = response.status_code
    if status < 300:
        return None
    exchange = exchange_of(response.request, response, call.secrets, masked)
    details = {**call.context, "status": status, "excerpt": exchange.response_body, "exchange": exchange}
    reason = response.reason_phrase or "error"
    if status < 400:  # a redirect the method does not follow: never a success without records
        return StepError(redirect_reason(response, call.method, lambda url: shown_url(url, call.secrets, masked)),
                         **details)
    if status == 401:
        return Unauthorized(reason, **details)
    if status in RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RetryableError(reason, retry_after=retry_after, **details)
    return StepError(reason, **details)


@dataclass
class PreparedCall:
    """Calls of one method with one account connector's credentials: everything that does not
    change from one call to the next (nor if a call is sent twice), worked out once. A step
    prepares one for all its transactions (`prepare`), then `call`s it for each."""

    connector: Connector
    method: Method
    authentication: Authentication | None
    credentials: Credentials
    secrets: list[str]
    on_exchange: Callable[[Exchange], None] | None
    tokens: TokenStore | None
    trusted: Mapping[str, str]  # what decides where credentials may go (_trusted)
    limiter: Limiter | None = None
    wanted: list[Any] = field(default_factory=list)  # the rate-limit buckets each request takes
    max_wait: float = 2.0
    scripting: Scripting = NO_SCRIPTING
    _shown: dict[tuple[URL, int], str] = field(default_factory=dict, init=False, repr=False)

    @property
    def context(self) -> dict[str, Any]:
        return {"connector": self.connector.Name, "method": self.method.UniqueIdentifier}

    @cached_property
    def params(self) -> list[Parameter]:
        return call_parameters(self.connector, self.method)

    @cached_property
    def settable(self) -> set[str]:
        return _settable(self.params)

    @cached_property
    def required(self) -> list[inputs.Required]:
        return inputs.required_parameters(self.method, self.params, self.settable)

    @cached_property
    def known(self) -> dict[str, Any]:
        """The mergefield values every call has: the trusted values and the credentials'."""
        return {**self.trusted, **auth_mergefields(self.credentials)}

    @cached_property
    def paging(self) -> Paging:
        return Paging.of(self.connector, self.method, self.params)

    @cached_property
    def masked(self) -> set[str]:
        return _secret_names(self.authentication, self.params)

    @cached_property
    def hidden(self) -> set[str]:
        """Mergefields a script is not shown."""
        return AUTH_MERGEFIELDS | {"ClientSecret"} | {p.key for p in self.params if p.IsSensitive}

    @cached_property
    def origins(self) -> frozenset[Origin]:
        """The origins of the connector's endpoints: where its credentials may go."""
        found = (endpoint_origin(m.Endpoint, self.trusted) for m in (self.method, *self.connector.Methods))
        return frozenset(o for o in found if o is not None)

    def shown(self, url: URL) -> str:
        """The URL as a trace may record it (shown_url); remembered, as most calls of a method
        go to the same few URLs (and again when a refreshed OAuth token joins the secrets)."""
        key = (url, len(self.secrets))
        if (found := self._shown.get(key)) is None:
            if len(self._shown) >= SHOWN_URLS:
                self._shown.clear()
            found = self._shown[key] = shown_url(url, self.secrets, self.masked)
        return found

    def authorized(self, target: URL) -> bool:
        """Whether credentials go with a request to `target`: only to an origin of the
        connector's endpoints (a next URL elsewhere is followed without them)."""
        return origin_of(target) in self.origins

    async def call(
        self,
        client: HttpClient,
        *,
        fields: Mapping[str, Any] | None = None,
        parameters: Mapping[str, str] | None = None,
        mergefields: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        cursor: Cursor | None = None,
    ) -> CallResult:
        """One request: the first page, or the page `cursor` (from a previous result) points at."""
        session = _scripts(client, self)
        try:
            async with session or nullcontext():
                return await _call(client, self, session, cursor or {}, fields or {}, parameters or {},
                                   mergefields or {}, idempotency_key)
        except ConnectorError as err:
            raise _named(err, self)


def prepare(
    connector: Connector,
    method_id: str,
    *,
    credentials: Credentials,
    authentication: str | None = None,
    limiter: Limiter | None = None,
    limit_key: str | None = None,
    max_wait: float = 2.0,
    tokens: TokenStore | None = None,
    on_exchange: Callable[[Exchange], None] | None = None,
    scripting: Scripting = NO_SCRIPTING,
) -> PreparedCall:
    """Calls of `method_id` with these credentials, ready to `call`."""
    try:
        method = connector.method(method_id)
    except KeyError:
        raise StepError("the connector has no such method", connector=connector.Name, method=method_id) from None
    return PreparedCall(connector, method, connector.authentication(authentication), credentials,
                        secrets_of(credentials, connector), on_exchange, tokens, _trusted(connector, credentials),
                        limiter, buckets(connector, method, limit_key or connector.Name) if limiter is not None else [],
                        max_wait, scripting)


async def call_method(
    client: HttpClient,
    connector: Connector,
    method_id: str,
    *,
    fields: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str] | None = None,
    mergefields: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    cursor: Cursor | None = None,
    **preparation: Any,
) -> CallResult:
    """One call, prepared for itself alone (`prepare` takes `preparation`): for a caller with
    one call to make, or one page at a time."""
    return await prepare(connector, method_id, **preparation).call(
        client, fields=fields, parameters=parameters, mergefields=mergefields, idempotency_key=idempotency_key,
        cursor=cursor)


@asynccontextmanager
async def event_scripts(
    client: HttpClient,
    connector: Connector,
    method_id: str,
    event: str,
    *,
    credentials: Credentials,
    authentication: str | None = None,
    limiter: Limiter | None = None,
    limit_key: str | None = None,
    tokens: TokenStore | None = None,
    scripting: Scripting = NO_SCRIPTING,
) -> AsyncIterator[ScriptSession | None]:
    """The isolate for a method's `event` outside a request (before_webhook, after_webhook), its
    http_request through the engine as a call's is; None when no script handles the event."""
    call = prepare(connector, method_id, credentials=credentials, authentication=authentication, limiter=limiter,
                   limit_key=limit_key, tokens=tokens, scripting=scripting)
    named = mentions(event, connector.Script, call.method.Script, scripting.step_script)
    session = _scripts(client, call) if named else None  # no isolate for scripts that cannot handle it
    try:
        async with session or nullcontext():
            yield session if session and session.handles(event) else None
    except ConnectorError as err:
        raise _named(err, call)


def _scripts(client: HttpClient, call: PreparedCall) -> ScriptSession | None:
    """The call's isolate, with the connector's, the method's and the step's scripts; None when
    none has one."""
    scripting = call.scripting
    levels = levels_of(("connector", call.connector.Script), ("method", call.method.Script),
                       ("step", scripting.step_script))
    if not levels:
        return None
    return ScriptSession(levels, hooks.host(partial(_script_request, client, call), scripting.storage),
                         scripting.limits)


def check_input(connector: Connector, method_id: str, credentials: Credentials, *,
                parameters: Mapping[str, str], fields: Mapping[str, Any], mergefields: Mapping[str, Any]) -> None:
    """What a call would refuse before sending (UnknownParameter, InvalidInput), found without
    sending: for work accepted now and sent later (an agent's write, api/tool_calls.py)."""
    _checked(prepare(connector, method_id, credentials=credentials), parameters, fields, mergefields)


def _checked(call: PreparedCall, parameters: Mapping[str, str], fields: Mapping[str, Any],
             mergefields: Mapping[str, Any]) -> dict[str, Any]:
    """The call's mergefield values, once its input passed the checks."""
    _check_parameters(parameters, call.settable)
    values = {**call.known, **mergefields, **parameters}
    inputs.check(call.method, call.params, call.settable, parameters, fields,
                 lambda name: name not in parameters and (name in call.known or name in mergefields), call.required)
    return values


def _named(err: ConnectorError, call: PreparedCall) -> ConnectorError:
    err.connector, err.method = call.connector.Name, call.method.UniqueIdentifier
    if isinstance(err, ScriptError):  # a script may quote what it was given
        err.reason = redact(err.reason, call.secrets)
    return err


async def _call(client: HttpClient, call: PreparedCall, session: ScriptSession | None, cursor: Cursor,
                fields: Mapping[str, Any], parameters: Mapping[str, str], mergefields: Mapping[str, Any],
                idempotency_key: str | None) -> CallResult:
    connector, method, params, paging = call.connector, call.method, call.params, call.paging
    values = _checked(call, parameters, fields, mergefields)
    # A next-page URL carries its own query; add only what it lacks (an API key, say).
    next_url = cursor.get("next_url")
    # What a caller or a record gives goes into the URL as one path segment each (a/b: a%2Fb).
    endpoint = render(method.Endpoint, values, encoded=set(mergefields) | set(parameters)) if not next_url else ""
    target = checked_url(next_url or endpoint, call.secrets, "the URL" if not next_url else "the next-page URL")
    authorized = call.authorized(target)
    if not (authorized or next_url) and carries_credentials(method.Endpoint):
        raise StepError(f"the URL would carry the credentials to {target.origin()}, "
                        "which is not one of the connector's endpoint origins")
    parts = _request_parts(params, paging, cursor, values, parameters, authorized)
    if idempotency_key and method.IdempotencyKeyHeader:
        parts.headers[method.IdempotencyKeyHeader] = idempotency_key
    masked, hidden = call.masked, call.hidden
    pages, count, response, warnings = [], 0, None, []
    chunks = outbound_chunks(connector, method, _body(method, fields, values, authorized))
    for number, body in enumerate(chunks, 1):
        outgoing = hooks.Outgoing(target, dict(parts.headers), dict(parts.query), body)
        if idempotency_key and method.IdempotencyKeyHeader and len(chunks) > 1:
            # Each chunk is a write of its own: a resent chunk is recognised, not a later one.
            outgoing.headers[method.IdempotencyKeyHeader] = f"{idempotency_key}-{number}"
        if session and not await hooks.before_action(session, outgoing, values, hidden,
                                                     call.credentials.auth_value if authorized else None,
                                                     call.secrets):
            warnings.append(f"a script's before_action skipped request {number}")
            continue
        response = await _send_outgoing(client, call, outgoing, masked)
        payload, warning = await _payload(call, session, response, masked)
        warnings += [warning] if warning else []
        page = digest(response.content) if paging.style else ""  # only paging looks for a repeated page
        if not paging.repeats(cursor, page):  # a repeated page's records were read already
            pages.append(payload)
            count += count_records(payload, method.response_fields)
    if response is None:  # every request skipped
        return CallResult(0, None, None, "; ".join(warnings) or None)
    next_cursor, warning = paging.next_cursor(cursor, params, payload, page, response.links, count,
                                              response.url)
    if session and paging.style and next_cursor is None and pages:
        pages[-1] = await hooks.after_action_paging(session, response, pages[-1])

    def map_records() -> list[dict[str, Any]]:
        mapped = [r for p in pages for r in records_from_body(p, method.response_fields)]
        return _filtered(mapped, params, parameters, values)

    warning = "; ".join(filter(None, [warning, *warnings])) or None
    return CallResult(response.status_code, payload, next_cursor, warning, count, map_records)


async def _send_outgoing(client: HttpClient, call: PreparedCall, outgoing: hooks.Outgoing,
                         masked: set[str]) -> Response:
    """The request as the scripts left it, with the credentials where they may go."""
    target, authorized = outgoing.target, call.authorized(outgoing.target)
    parts = RequestParts(headers=outgoing.headers, query=outgoing.query)
    if authorized:
        apply_auth(parts, call.authentication, call.credentials)
    body = outgoing.body
    if parts.body_fields and isinstance(body, dict | None):
        body = {**(body or {}), **parts.body_fields}
    missing = {k: v for k, v in parts.query.items() if k not in target.query}
    target = target.extend_query(missing) if missing else target
    if call.limiter is not None and call.wanted and (waited := await acquire(call.limiter, call.wanted,
                                                                             call.max_wait)):
        metering.meter.waited(call.connector.Name, waited)
    return await _send_body(client, call, target, parts.headers, body, masked, authorized)


async def _payload(call: PreparedCall, session: ScriptSession | None, response: Response,
                   masked: set[str]) -> tuple[Any, str | None]:
    """The response body (as after_action left it), or the error unless after_error turned it
    into a success or a warning."""
    error = _status_error(response, call, masked)
    if error is None:
        payload = decode(call.method, response)
        return (await hooks.after_action(session, response, payload) if session else payload), None
    handled = session and await hooks.after_error(session, call.method, response, error.reason)
    if not handled:
        raise error
    warning = handled.verdict if isinstance(handled.verdict, str) else None
    return handled.state["method_response"], warning


async def _script_request(client: HttpClient, call: PreparedCall, request: dict[str, Any]) -> dict[str, Any]:
    """A script's http_request, through the engine: the egress policy (the client's), the rate
    limits, and the credentials only to the connector's own origins."""
    target = checked_url(str(request["url"]), call.secrets, "the URL of a script's http_request")
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    body = request.get("content", request.get("body"))
    outgoing = hooks.Outgoing(target, headers, {}, body)
    verb = str(request.get("method") or "GET").capitalize()
    scripted = dataclasses.replace(call, method=call.method.model_copy(update={"HttpMethod": verb,
                                                                              "DataType": _data_type(body)}))
    response = await _send_outgoing(client, scripted, outgoing, _secret_names(call.authentication, []))
    content: Any = response.text
    if "json" in response.headers.get("Content-Type", ""):
        try:
            content = nesting.loads(response.content, "the response to a script's http_request")
        except ValueError:
            pass
    return {"status": response.status_code, "headers": header_dict(response.headers), "content": content}


def _data_type(body: Any) -> str:
    """How a script's http_request body is sent: objects as JSON, text as it is."""
    if body is None:
        return "None"
    return "Json" if isinstance(body, dict | list) else "PlainText"


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
    client: HttpClient, call: PreparedCall, target: URL, headers: dict[str, str], body: Any,
    masked: set[str], authorized: bool,
) -> Response:
    """One request carrying `body` in the method's DataType, with the connector's auth."""
    encoded = encode(call.method, body)
    headers = {**headers, **encoded.pop("headers", {})}

    def build(with_headers: dict[str, str]) -> Request:
        if problem := _unsendable_header(with_headers, call.secrets):  # no retry can send it
            raise problem
        return build_request(call.method.HttpMethod, target, with_headers, **encoded)

    if authorized and call.authentication is not None and call.authentication.AuthType == "OAuth2":
        return await _send_with_token(client, call, build, headers, masked)
    return await _send(client, call, build(headers), masked)


def _unsendable_header(headers: Mapping[str, str], secrets: list[str]) -> ConnectorError | None:
    """The error for a header HTTP cannot carry (not ASCII, or broken over lines): the
    credentials' fault if it carries one of them; None when every header can be sent."""
    for name, value in headers.items():
        if not (name + value).isascii():
            why = "it must be ASCII"
        elif "\r" in value or "\n" in value:
            why = "it must be one line"
        else:
            continue
        if any(s in value for s in secrets):
            return InvalidCredentials(f"the AuthValue cannot be sent in the '{name}' header: {why}")
        return StepError(f"the value cannot be sent in the '{name}' header: {why}")
    return None


async def _send(client: HttpClient, call: PreparedCall, request: Request, masked: set[str]) -> Response:
    """`request`, and the redirects the method follows after it."""
    return await follow(partial(_send_one, client, call, masked=masked), request, call.method)


async def _send_one(client: HttpClient, call: PreparedCall, request: Request, masked: set[str]) -> Response:
    # What a trace may record (a script's own request masks only the auth's names).
    request.shown_url = call.shown(request.url) if masked is call.masked else shown_url(request.url, call.secrets, masked)
    start = time.perf_counter()
    try:
        response = await client.send(request)
    except (Unsent, EgressRefused) as err:
        metering.meter.sent(call.connector.Name, call.method.UniqueIdentifier, None, time.perf_counter() - start)
        raise _unsent(call, request, masked, err) from None
    metering.meter.sent(call.connector.Name, call.method.UniqueIdentifier, response.status_code,
                        time.perf_counter() - start)
    if call.on_exchange:
        call.on_exchange(exchange_of(request, response, call.secrets, masked))
    return response


def _unsent(call: PreparedCall, request: Request, masked: set[str], err: Exception) -> ConnectorError:
    """The error for a request that got no response, with the exchange the debugger shows.
    Timeouts and connection failures may pass; a refused address or an unusable URL will not."""
    match err:
        case EgressRefused():
            kind, reason = EgressRefused, err.reason
        case Unsendable():
            kind, reason = StepError, f"the URL cannot be sent: {redact(str(err), call.secrets)}"
        case TimedOut():
            kind, reason = RetryableError, "the request timed out"
        case _:
            kind, reason = RetryableError, f"connection failed: {redact(str(err), call.secrets)}"
    exchange = exchange_of(request, None, call.secrets, masked, error=reason)
    if call.on_exchange:
        call.on_exchange(exchange)
    return kind(reason, exchange=exchange, **call.context)


async def _send_with_token(
    client: HttpClient, call: PreparedCall, build: Callable[[dict[str, str]], Request],
    headers: dict[str, str], masked: set[str],
) -> Response:
    """Send with the account connector's OAuth token; after a 401, refresh once and resend."""
    tokens = call.tokens
    if tokens is None:
        raise ConnectorError("OAuth2 needs the account connector's token store")
    token = await bearer(call.authentication, call.credentials, tokens, client)
    for attempt in range(2):
        if token.access_token not in call.secrets:  # the prepared call's: shared by its calls
            call.secrets.append(token.access_token)
        response = await _send(client, call, build({**headers, "Authorization": f"Bearer {token.access_token}"}),
                               masked)
        if response.status_code != 401 or attempt == 1:
            return response
        token = await bearer(call.authentication, call.credentials, tokens, client, rejected=token)
    return response
