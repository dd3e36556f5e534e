"""One HTTP exchange as the debugger shows it: secrets masked, bodies bounded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from connectors.errors import redact

BODY_LIMIT = 4000
MASKED_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}


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
    return {k: "***" if k.lower() in masked else redact(v, secrets) for k, v in headers.items()}


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
        url=redact(str(request.url), secrets),
        request_headers=_headers(request.headers, secrets, extra),
        request_body=_text(request.content, secrets),
        status=response.status_code if response is not None else None,
        response_headers=_headers(response.headers, secrets, extra) if response is not None else None,
        response_body=_text(response.content, secrets) if response is not None else None,
        error=error,
        milliseconds=_milliseconds(response),
    )
