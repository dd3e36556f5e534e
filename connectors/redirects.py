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

from collections.abc import Callable

from yarl import URL

from connectors.spec import Method
from connectors.transport import Request, Response, Send
from connectors.urls import origin_of

MAX_REDIRECTS = 10  # hops a method follows before the answer counts as unfollowed
BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding", "transfer-encoding"})


def _location(response: Response) -> URL | None:
    """Where a 3xx answer points, resolved against the request's URL; None without a valid Location."""
    location = response.headers.get("Location")
    try:
        return response.request.url.join(URL(location)) if location is not None else None
    except ValueError:
        return None


def next_request(response: Response) -> Request | None:
    """The request a redirect (301, 302, 303, 307, 308 with a valid Location) asks for, as
    browsers make it: a 303, and a 302 or a POST's 301, as a GET without the body; the same
    request to the new URL otherwise."""
    target = _location(response) if response.is_redirect else None
    if target is None:
        return None
    request, status = response.request, response.status_code
    resent = not (status in (302, 303) and request.method != "HEAD" or status == 301 and request.method == "POST")
    if resent:
        return Request(request.method, target, dict(request.headers), request.content)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in BODY_HEADERS}
    return Request("GET", target, headers)


def _unfollowed(response: Response, method: Method) -> str | None:
    """Why the redirect `response` makes is not followed (the end of a sentence); None when it is."""
    hop = next_request(response)
    if hop is None:
        return "no redirect to follow"
    if not method.FollowRedirects:
        return "which the method does not follow (FollowRedirects: true follows redirects within its origin)"
    if origin_of(hop.url) != origin_of(response.request.url):
        return "another origin: FollowRedirects follows redirects only within the method's origin"
    if hop.method != response.request.method and response.status_code != 303:
        return (f"which would resend the {response.request.method} as a {hop.method}: a write follows only "
                "303, 307 and 308 redirects")
    if len(response.history) >= MAX_REDIRECTS:
        return f"after {MAX_REDIRECTS} redirects: FollowRedirects follows no more"
    return None


async def follow(send: Send, request: Request, method: Method) -> Response:
    """`request` sent, then each redirect the method follows; the last answer, with the answers
    that redirected to it as its `history`."""
    response = await send(request)
    while response.is_redirect and _unfollowed(response, method) is None:
        hop = await send(next_request(response))
        hop.history = [*response.history, response]
        response = hop
    return response


def redirect_reason(response: Response, method: Method, shown: Callable[[URL], str]) -> str:
    """Why a 3xx answer is a step error: its status, where it points (as `shown`: secrets
    masked) and why it was not followed."""
    why = _unfollowed(response, method)
    if "Location" not in response.headers:
        return f"{response.reason_phrase}: a 3xx answer, with {why}"
    location = _location(response)
    target = shown(location) if location is not None else "an invalid Location"
    if next_request(response) is None:
        return f"{response.reason_phrase}: a 3xx answer pointing to {target}, with {why}"
    return f"{response.reason_phrase}: redirected to {target}, {why}"
