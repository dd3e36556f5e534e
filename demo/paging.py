"""Demo routes for every paging style, over the demo CRM's contacts.

Each returns `items`; cursors are opaque strings so the engine cannot guess them.
`/admin/paging` sets an empty page to appear in the middle of cursor sequences.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response

PerPage = Annotated[int, Query(ge=1, le=1000)]


def _token(offset: int, tag: str = "o") -> str:
    return base64.urlsafe_b64encode(f"{tag}:{offset}".encode()).decode()


def _untoken(token: str | None) -> tuple[str, int]:
    if not token:
        return "o", 0
    try:
        tag, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return tag, int(offset)
    except ValueError:
        raise HTTPException(400, "bad page token") from None


def paging_router(state: Any) -> APIRouter:
    router = APIRouter(prefix="/paging")

    def window(offset: int, size: int) -> tuple[list[dict], bool]:
        return state.contacts[offset : offset + size], offset + size < len(state.contacts)

    @router.get("/number")
    def by_number(page: Annotated[int, Query(ge=1)] = 1, per_page: PerPage = 10) -> dict:
        return {"items": window((page - 1) * per_page, per_page)[0], "page": page}

    @router.get("/offset")
    def by_offset(offset: Annotated[int, Query(ge=0)] = 0, limit: PerPage = 10) -> dict:
        return {"items": window(offset, limit)[0]}

    @router.get("/link-to")
    def link_to(response: Response, to: str, per_page: PerPage = 10) -> list:
        """One page whose Link header sends the caller on to `to` (another origin, say)."""
        response.headers["Link"] = f'<{to}>; rel="next"'
        return window(0, per_page)[0]

    @router.get("/next-url")
    def by_next_url(request: Request, page: int = 1, per_page: PerPage = 10) -> dict:
        items, more = window((page - 1) * per_page, per_page)
        following = str(request.url.include_query_params(page=page + 1)) if more else None
        return {"items": items, "links": {"next": following}}

    @router.get("/link")
    def by_link(request: Request, response: Response, page: int = 1, per_page: PerPage = 10) -> list:
        items, more = window((page - 1) * per_page, per_page)
        if more:
            response.headers["Link"] = f'<{request.url.include_query_params(page=page + 1)}>; rel="next"'
        return items

    @router.get("/relative")
    def by_relative_url(response: Response, form: Literal["path", "query", "segment"] = "path", page: int = 1,
                        per_page: PerPage = 10) -> dict:
        """The next URL relative to this page's, in the body and the Link header alike."""
        items, more = window((page - 1) * per_page, per_page)
        query = f"?page={page + 1}&form={form}"  # per_page left for the engine to add back
        following = {"path": f"/paging/relative{query}", "query": query, "segment": f"relative{query}"}[form]
        if more:
            response.headers["Link"] = f'<{following}>; rel="next"'
        return {"items": items, "links": {"next": following if more else None}}

    @router.get("/token")
    def by_token(after: str | None = None, x_page_token: Annotated[str | None, Header()] = None,
                 per_page: PerPage = 10) -> dict:
        tag, offset = _untoken(after or x_page_token)
        if offset == state.empty_page_at and tag == "o":  # an empty page, then the sequence goes on
            return {"items": [], "meta": {"next": _token(offset, "e")}}
        items, more = window(offset, per_page)
        return {"items": items, "meta": {"next": _token(offset + per_page) if more else ""}}

    @router.get("/two-tokens")
    def by_two_tokens(a: str | None = None, b: str | None = None, per_page: PerPage = 10) -> dict:
        if (a is None) != (b is None) or (a and _untoken(a)[1] != _untoken(b)[1]):
            raise HTTPException(400, "cursors a and b must be sent together and match")
        offset = _untoken(a)[1]
        items, more = window(offset, per_page)
        following = _token(offset + per_page) if more else None
        return {"items": items, "cursors": {"a": following, "b": following}}

    @router.get("/repeat")
    def repeating(per_page: PerPage = 10) -> dict:
        return {"items": window(0, per_page)[0], "meta": {"next": "same-again"}}

    return router
