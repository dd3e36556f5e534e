"""The connect portal's assets: the single-page app at /portal/, its OAuth popup's landing page,
and sdk.js, which partners' pages load to embed it. Built from web/ into api/web/ (make).

The app's page is served with a Content-Security-Policy whose frame-ancestors are the session's
AllowedOrigins (and only when the `parent` origin the SDK names is one of them), so a browser
renders the portal only inside the partner's own pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from api.dependencies import Db
from api.errors import ApiError
from store import portal_sessions

ASSETS = Path(__file__).resolve().parent.parent / "web"  # built by `npm run build -w web`
PORTAL = ASSETS / "portal"
router = APIRouter(prefix="/portal", include_in_schema=False)

# The app loads nothing from elsewhere but the images partners name (a logo, template icons).
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
          "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def _file(path: Path, media_type: str, ancestors: str, **headers: str) -> FileResponse:
    if not path.is_file():
        raise ApiError(404, "the portal is not built: `make run` (or `npm run build -w web`) builds it from web/")
    return FileResponse(path, media_type=media_type, headers={
        **HEADERS, "Content-Security-Policy": POLICY.format(ancestors=ancestors), **headers})


def ancestors(db: Db, session_id: str | None, parent: str | None) -> str:
    """The frame-ancestors of the portal's page: the live session's AllowedOrigins, if the page
    that asks to embed it is one of them; 'none' otherwise."""
    row = portal_sessions.live(db, session_id) if session_id else None
    allowed = row.options["AllowedOrigins"] if row is not None else []
    if not allowed or (parent is not None and parent not in allowed):
        return "'none'"
    return " ".join(allowed)


@router.get("")
def portal_root() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=308)


@router.get("/")
def portal_page(db: Db, session: Annotated[str | None, Query(max_length=200)] = None,
                parent: Annotated[str | None, Query(max_length=300)] = None) -> FileResponse:
    return _file(PORTAL / "index.html", "text/html", ancestors(db, session, parent))


@router.get("/oauth.html")
def oauth_landing() -> FileResponse:
    """Where the OAuth consent popup comes back to: it tells the portal, and closes."""
    return _file(PORTAL / "oauth.html", "text/html", "'none'")


@router.get("/sdk.js")
def sdk() -> Response:
    return _file(ASSETS / "sdk.js", "text/javascript", "'none'", **{
        "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"})


# Hashed file names: cached for good. Mounted by the app (api/app.py) under /portal/assets.
assets = StaticFiles(directory=PORTAL / "assets", check_dir=False)
