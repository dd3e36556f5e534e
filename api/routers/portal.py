"""The connect portal's files: the single-page app at /portal/, its OAuth popup's landing page,
and sdk.js, which partners' pages load to embed it. No token: the app reads its session's token
from the URL's fragment, which no server sees.

The app is built from web/ into api/web/portal/ (make); sdk.js is web/sdk/sdk.js, hand-written
(api/sdk.js links to it, so the wheel ships it). The app's page is served with a
Content-Security-Policy whose frame-ancestors are the session's AllowedOrigins when the `parent`
origin the SDK names is one of them, 'none' otherwise: a browser renders the portal only inside
the partner's own pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from api.dependencies import Db
from api.errors import ApiError
from store import portal_sessions

HERE = Path(__file__).resolve().parent.parent
PORTAL = HERE / "web" / "portal"  # built by the Makefile from web/
SDK = HERE / "sdk.js"
router = APIRouter(prefix="/portal", include_in_schema=False)

# The app loads nothing from elsewhere but the images partners name (a logo, template icons).
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
          "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}
NONE = "'none'"


def _file(path: Path, media_type: str, ancestors: str = NONE, **headers: str) -> FileResponse:
    if not path.is_file():
        raise ApiError(404, f"the portal is not built: {path.name} is missing (`make` builds it from web/)")
    return FileResponse(path, media_type=media_type, headers={
        **HEADERS, "Content-Security-Policy": POLICY.format(ancestors=ancestors), **headers})


def frame_ancestors(db: Db, session_id: str | None, parent: str | None) -> str:
    """The frame-ancestors of the portal's page: the live session's AllowedOrigins when the page
    that embeds it (`parent`, named by sdk.js) is one of them; 'none' otherwise."""
    row = portal_sessions.live(db, session_id) if session_id and parent else None
    allowed = row.options["AllowedOrigins"] if row is not None else []
    return " ".join(allowed) if parent and parent.rstrip("/").lower() in allowed else NONE


@router.get("")
def portal_root() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=308)


@router.get("/")
def portal_page(db: Db, session: Annotated[str | None, Query(max_length=200)] = None,
                parent: Annotated[str | None, Query(max_length=300)] = None) -> FileResponse:
    return _file(PORTAL / "index.html", "text/html; charset=utf-8", frame_ancestors(db, session, parent))


@router.get("/oauth.html")
def oauth_landing() -> FileResponse:
    """Where the OAuth consent popup comes back to: it tells the portal, and closes."""
    return _file(PORTAL / "oauth.html", "text/html; charset=utf-8")


@router.get("/sdk.js")
def sdk() -> FileResponse:
    """The embedding SDK, for any page's <script> (CORS: for module and crossorigin loads too)."""
    return _file(SDK, "text/javascript; charset=utf-8", **{
        "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"})


# Vite names them by their hash. Mounted by the app (api/app.py) under /portal/assets.
assets = StaticFiles(directory=PORTAL / "assets", check_dir=False)
