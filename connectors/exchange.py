"""One HTTP exchange as the debugger shows it: secrets masked, bodies bounded.

Secrets are masked by where they travel: the auth headers, and the headers, query parameters
and body fields named as carrying one (an API key's name, sensitive parameters). Free text
(bodies, error messages) is scrubbed only of secrets long enough to recognise (errors.redact).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import httpx

from connectors.errors import redact

BODY_LIMIT = 4000
MASKED_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
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


def _headers(headers: httpx.Headers, secrets: list[str], extra_masked: set[str]) -> dict[str, str]:
    masked = MASKED_HEADERS | extra_masked
    return {k: MASK if k.lower() in masked else redact(v, secrets) for k, v in headers.items()}


def _url(url: httpx.URL, secrets: list[str], masked: set[str]) -> str:
    if any(k.lower() in masked for k in url.params):
        pairs = [(k, MASK if k.lower() in masked else v) for k, v in url.params.multi_items()]
        url = url.copy_with(query=urlencode(pairs, safe="*").encode())
    return redact(str(url), secrets)


def _masked_fields(content: bytes, masked: set[str]) -> bytes:
    """A JSON object's or a form's fields named in `masked`, masked; anything else as it was."""
    if not masked or not content:
        return content
    try:
        data = json.loads(content)
    except ValueError:
        pairs = parse_qsl(content.decode("utf-8", errors="replace"), keep_blank_values=True)
        if not any(k.lower() in masked for k, _ in pairs):
            return content
        return urlencode([(k, MASK if k.lower() in masked else v) for k, v in pairs], safe="*").encode()
    if isinstance(data, dict) and any(k.lower() in masked for k in data):
        return json.dumps({k: MASK if k.lower() in masked else v for k, v in data.items()}).encode()
    return content


def _text(content: bytes, secrets: list[str]) -> str:
    text = content.decode("utf-8", errors="replace")
    cut = text[:BODY_LIMIT] + (f"… ({len(text) - BODY_LIMIT} more characters)" if len(text) > BODY_LIMIT else "")
    return redact(cut, secrets)


def _milliseconds(response: httpx.Response | None) -> float | None:
    try:
        return response.elapsed.total_seconds() * 1000 if response is not None else None
    except RuntimeError:  # a response that was never streamed (a MockTransport's) has no timing
        return None


def exchange_of(
    request: httpx.Request,
    response: httpx.Response | None,
    secrets: Iterable[str],
    masked_headers: Iterable[str] = (),
    error: str | None = None,
) -> Exchange:
    secrets = [s for s in secrets if s]
    extra = {h.lower() for h in masked_headers}
    return Exchange(
        method=request.method,
        url=_url(request.url, secrets, extra),
        request_headers=_headers(request.headers, secrets, extra),
        request_body=_text(_masked_fields(request.content, extra), secrets),
        status=response.status_code if response is not None else None,
        response_headers=_headers(response.headers, secrets, extra) if response is not None else None,
        response_body=_text(response.content, secrets) if response is not None else None,
        error=error,
        milliseconds=_milliseconds(response),
    )
