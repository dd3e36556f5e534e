"""Upstream redirects: followed only where a method asks, and only within its origin.

An answer in 3xx is not a success: a moved endpoint answering 301 would otherwise count as a
call that returned no records, and silently drop a run's data. So a 3xx the engine does not
follow is a step error naming the status and where it points, never retried.

A method with `FollowRedirects: true` follows redirects to its own origin (scheme, host and
port): each hop is a request of its own through the engine's transport, so the egress policy
checks it, and it carries the request's headers, credentials included, which therefore never
leave the origin. A write follows only redirects that keep its method (307, 308) or that point
at its result (303): a 301 or 302 would resend it as a GET, losing the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from connectors.spec import Method
from connectors.urls import origin_of

MAX_REDIRECTS = 10  # hops a method follows before the answer counts as unfollowed


def _unfollowed(response: httpx.Response, method: Method) -> str | None:
    """Why the redirect `response` makes is not followed (the end of a sentence); None when it is."""
    hop = response.next_request  # httpx's next request, for a 301, 302, 303, 307 or 308 with a Location
    if hop is None:
        return "no redirect to follow"
    if not method.FollowRedirects:
        return "which the method does not follow (FollowRedirects: true follows redirects within its origin)"
    if origin_of(hop.url) != origin_of(response.request.url):
        return "another origin: FollowRedirects follows redirects only within the method's origin"
    if hop.method != response.request.method and response.status_code != httpx.codes.SEE_OTHER:
        return (f"which would resend the {response.request.method} as a {hop.method}: a write follows only "
                "303, 307 and 308 redirects")
    if len(response.history) >= MAX_REDIRECTS:
        return f"after {MAX_REDIRECTS} redirects: FollowRedirects follows no more"
    return None


async def follow(send: Callable[[httpx.Request], Awaitable[httpx.Response]], request: httpx.Request,
                 method: Method) -> httpx.Response:
    """`request` sent, then each redirect the method follows; the last answer, with the answers
    that redirected to it as its `history` (as httpx keeps them)."""
    response = await send(request)
    while response.is_redirect and _unfollowed(response, method) is None:
        hop = await send(response.next_request)
        hop.history = [*response.history, response]
        response = hop
    return response


def redirect_reason(response: httpx.Response, method: Method, shown: Callable[[httpx.URL], str]) -> str:
    """Why a 3xx answer is a step error: its status, where it points (as `shown`: secrets
    masked) and why it was not followed."""
    why = _unfollowed(response, method)
    location = response.headers.get("Location")
    if location is None:
        return f"{response.reason_phrase}: a 3xx answer, with {why}"
    try:
        target = shown(response.request.url.join(location))
    except httpx.InvalidURL:
        target = "an invalid Location"
    if response.next_request is None:
        return f"{response.reason_phrase}: a 3xx answer pointing to {target}, with {why}"
    return f"{response.reason_phrase}: redirected to {target}, {why}"
