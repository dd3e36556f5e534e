"""One HTTP exchange as the debugger shows it: secrets masked, bodies bounded.

Secrets are masked by where they travel: the auth headers, and the headers, query parameters
and body fields (JSON at any depth, forms) named as carrying one: an API key's name, sensitive
parameters, and names that carry a secret in any API (OAuth 2 tokens, client secrets,
passwords). Free text is scrubbed only of secrets long enough to recognise (errors.redact).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from multidict import CIMultiDictProxy
from yarl import URL

from connectors import nesting
from connectors.errors import redact
from connectors.transport import Request, Response, header_dict

BODY_LIMIT = 4000
MASKED_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
# Not "code" (an authorization code, in token requests only): elsewhere it is rarely a secret.
SECRET_NAMES = {"access_token", "refresh_token", "id_token", "client_secret", "client_assertion",
                "password"}
FORM = "application/x-www-form-urlencoded"
MASK = "***"


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_headers: dict[str, str] | None = None
    response_body: str | None = None
    error: str | None = None
    milliseconds: float | None = None


Headers = dict[str, str] | CIMultiDictProxy[str]


def _headers(headers: Headers, secrets: list[str], named: set[str]) -> dict[str, str]:
    masked = MASKED_HEADERS | named
    return {k: MASK if k in masked else redact(v, secrets) for k, v in header_dict(headers).items()}


def shown_url(url: URL, secrets: list[str], masked: set[str]) -> str:
    """The URL with the values of auth query parameters (`masked`, and the names every OAuth
    secret goes by) masked and any credential redacted: the debugger's and a trace's alike."""
    masked = masked | SECRET_NAMES
    if any(k.lower() in masked for k in url.query):
        pairs = [(k, MASK if k.lower() in masked else v) for k, v in url.query.items()]
        url = url.with_query(None).with_fragment(None)
        return redact(f"{url}?{urlencode(pairs, safe='*')}", secrets)
    return redact(str(url), secrets)


def _masked_json(data: Any, masked: set[str]) -> Any:
    if isinstance(data, dict):
        return {k: MASK if k.lower() in masked else _masked_json(v, masked) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked_json(v, masked) for v in data]
    return data


def _masked_fields(content: bytes, headers: Headers, masked: set[str]) -> bytes:
    """A JSON body's or a form's fields named in `masked`, masked; anything else as it was."""
    if not content:
        return content
    if FORM in header_dict(headers).get("content-type", ""):
        pairs = parse_qsl(content.decode("utf-8", errors="replace"), keep_blank_values=True)
        if not any(k.lower() in masked for k, _ in pairs):
            return content
        return urlencode([(k, MASK if k.lower() in masked else v) for k, v in pairs], safe="*").encode()
    try:
        data = nesting.loads(content, "the body")
    except nesting.TooDeep as err:
        return f"({err.reason}: not shown, as its fields cannot be masked)".encode()
    except ValueError:
        return content
    shown = _masked_json(data, masked)
    return content if shown == data else json.dumps(shown).encode()


def _text(content: bytes, secrets: list[str]) -> str:
    text = content.decode("utf-8", errors="replace")
    cut = text[:BODY_LIMIT] + (f"… ({len(text) - BODY_LIMIT} more characters)" if len(text) > BODY_LIMIT else "")
    return redact(cut, secrets)


def exchange_of(
    request: Request,
    response: Response | None,
    secrets: Iterable[str],
    masked_names: Iterable[str] = (),
    error: str | None = None,
) -> Exchange:
    secrets = [s for s in secrets if s]
    named = {n.lower() for n in masked_names} | SECRET_NAMES
    return Exchange(
        method=request.method,
        url=shown_url(request.url, secrets, named),
        request_headers=_headers(request.headers, secrets, named),
        request_body=_text(_masked_fields(request.content, request.headers, named), secrets),
        status=response.status_code if response is not None else None,
        response_headers=_headers(response.headers, secrets, named) if response is not None else None,
        response_body=(_text(_masked_fields(response.content, response.headers, named), secrets)
                       if response is not None else None),
        error=error,
        milliseconds=response.elapsed * 1000 if response is not None else None,
    )
