"""A small real HTTP server that pages the way each catalog vendor documents it (prism's mock
answers every page alike, so it never shows a second page).

Its URL's first two segments name the vendor and the property of a page that holds the records
(`_` for a page that is a JSON array): `{url}/stripe/data/v1/customers`. It serves `size + 1`
records for a page size `size` (2 when the request names none): two pages, the second short.
Each record is {"id": n, "gid": "n", "ts": "n.000100"} (Slack messages: ts), n from 1; a cursor it does not know is a 400.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# vendor → (page size parameter, cursor parameter)
PARAMETERS = {
    "github": ("per_page", "page"), "gitlab": ("per_page", "page"), "stripe": ("limit", "starting_after"),
    "hubspot": ("limit", "after"), "slack": ("limit", "cursor"), "jira": ("maxResults", "startAt"),
    "asana": ("limit", "offset"), "notion": ("page_size", "start_cursor"), "box": ("limit", "offset"),
    "mailchimp": ("count", "offset"), "square": ("limit", "cursor"), "zoom": ("page_size", "next_page_token"),
}


def _records(start: int, stop: int) -> list[dict[str, Any]]:
    return [{"id": n, "gid": str(n), "ts": f"{n}.000100"} for n in range(start + 1, stop + 1)]


async def page(request: Request) -> Response:
    vendor, key = request.path_params["vendor"], request.path_params["key"]
    size_name, cursor_name = PARAMETERS[vendor]
    given = dict(request.query_params)
    if request.method == "POST" and await request.body():
        given |= {k: str(v) for k, v in json.loads(await request.body()).items() if k in (size_name, cursor_name)}
    size = int(given.get(size_name) or 2)
    total = size + 1
    cursor = given.get(cursor_name)
    start = _start(vendor, cursor, size)
    if start is None:
        return JSONResponse({"error": f"unknown cursor {cursor!r}"}, status_code=400)
    records, end = _records(start, min(start + size, total)), min(start + size, total)
    more = end < total
    body, headers = _shape(vendor, key, records, more, end, size, total, request)
    return JSONResponse(body, headers=headers)


def _start(vendor: str, cursor: str | None, size: int) -> int | None:
    """Where the page `cursor` names starts (records before it)."""
    if cursor in (None, ""):
        return 0
    if vendor in ("github", "gitlab"):
        return (int(cursor) - 1) * size
    if vendor in ("jira", "box", "mailchimp"):
        return int(cursor)
    if vendor == "stripe":  # the last id of the previous page
        return int(cursor)
    return int(cursor.removeprefix("page-after-")) if cursor.startswith("page-after-") else None


def _shape(vendor: str, key: str, records: list, more: bool, end: int, size: int, total: int, request: Request
           ) -> tuple[Any, dict[str, str]]:
    token = f"page-after-{end}" if more else None
    items = {key: records} if key != "_" else {}
    match vendor:
        case "github" | "gitlab":
            headers = {}
            if more:
                url = request.url.include_query_params(page=str(end // size + 1))
                headers["Link"] = f'<{url}>; rel="next"'
            return records, headers
        case "stripe":
            return {"object": "list", "url": request.url.path, "has_more": more, **items}, {}
        case "hubspot":
            return {**items, **({"paging": {"next": {"after": token, "link": "…"}}} if more else {})}, {}
        case "slack":
            return {"ok": True, **items, "response_metadata": {"next_cursor": token or ""}}, {}
        case "jira" | "box":
            start = end - len(records)
            return ({"startAt": start, "maxResults": size, "total": total, **items} if vendor == "jira"
                    else {"offset": start, "limit": size, "total_count": total, **items}), {}
        case "asana":
            return {**items, "next_page": {"offset": token, "path": "…", "uri": "…"} if more else None}, {}
        case "notion":
            return {"object": "list", **items, "next_cursor": token, "has_more": more}, {}
        case "mailchimp":
            return {**items, "total_items": total}, {}
        case "square":
            return {**items, **({"cursor": token} if more else {})}, {}
        case "zoom":
            return {"page_size": size, "total_records": total, "next_page_token": token or "", **items}, {}
    raise KeyError(vendor)


app = Starlette(routes=[Route("/{vendor}/{key}/{rest:path}", page, methods=["GET", "POST"])])
