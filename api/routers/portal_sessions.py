"""Portal sessions: the partner's backend opens the connect portal for one of its accounts.

    POST /v1.0/accounts/{id}/portal-sessions  (partner token) → the portal's URL and a token
    GET  /v1.0/portal-sessions/{id}           → the session's options (what the portal reads first)

The token is an account token limited to the portal's routes (api/portal_access.py) that
expires with the session; the options say which templates the portal lists, which origins may
embed it (its CSP frame-ancestors), its theme, locale and where "Done" returns to.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from sqlmodel import Session, select

from api.auth import Claims, PartnerClaims, new_token
from api.dependencies import Db
from api.errors import COMMON, ApiError, not_found, responses
from api.portal_access import PORTAL_SCOPE
from connectors import Problem
from connectors.dates import as_utc  # SQLite drops the zone of stored times
from runtime.settings import settings
from store import portal_sessions, text
from store.tables import Account, PortalSession, Template

router = APIRouter(tags=["portal"], responses=responses(*COMMON))

# The theme's CSS variables (README: "Embed the portal in your product"), and what a value may
# hold: colours, lengths and font names; nothing that ends a declaration or loads a URL.
THEME_VARIABLES = ("--cw-accent", "--cw-accent-text", "--cw-background", "--cw-surface", "--cw-text",
                   "--cw-muted", "--cw-border", "--cw-danger", "--cw-success", "--cw-radius", "--cw-font")
CSS_VALUE = re.compile(r"[#%(),./\w\s'\"+-]{1,200}")
MAX_TEMPLATES, MAX_ORIGINS = 100, 20


def _origin(value: str) -> str:
    """scheme://host[:port], as a browser names the origin of a page (lower case)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"'{value}' is not an origin: a scheme, a host and a port only "
                         "(https://app.example.com, http://localhost:3000)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _http_url(value: str) -> str:
    if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
        raise ValueError(f"'{value}' is not an http(s) URL")
    return value


def _css_value(value: str) -> str:
    if not CSS_VALUE.fullmatch(value) or "url(" in value.lower():
        raise ValueError(f"'{value}' is not a colour, length or font name (letters, digits, spaces and #%(),./'\"+-)")
    return value


Origin = Annotated[str, StringConstraints(max_length=300), AfterValidator(_origin)]
HttpUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_http_url)]
CssValue = Annotated[str, AfterValidator(_css_value)]
LocaleTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]


class ThemeIn(BaseModel):
    Logo: text.Image | None = Field(default=None, description="shown in the portal's header: an http(s) URL or a "
                                                         "data:image/ URI")
    Variables: dict[str, CssValue] = Field(default={}, description="CSS variables: " + ", ".join(THEME_VARIABLES))

    def problems(self) -> list[Problem]:
        return [Problem(f"$.Theme.Variables.{name}", f"'{name}' is not one of the portal's CSS variables: "
                                                     + ", ".join(THEME_VARIABLES))
                for name in self.Variables if name not in THEME_VARIABLES]


class PortalSessionIn(BaseModel):
    Templates: list[text.Name] | None = Field(default=None, max_length=MAX_TEMPLATES, description=(
        "the ids of the templates the marketplace lists (and the token may install); null: all of them"))
    AllowedOrigins: list[Origin] = Field(default=[], max_length=MAX_ORIGINS, description=(
        "the origins of the pages that may embed the portal (its CSP frame-ancestors); none: it opens only "
        "as a page of its own"))
    Theme: ThemeIn = ThemeIn()
    Locale: LocaleTag = Field(default="en", description="a BCP 47 language tag; the portal falls back to the "
                                                     "nearest language it has (fr-CA → fr → en)")
    ReturnUrl: HttpUrl | None = Field(default=None, description="where the portal, opened as a page of its own, "
                                                                "sends the user when they are done")
    ExpiresIn: int = Field(default=1800, ge=60, le=3600, description="seconds until the session and its token "
                                                                     "expire")


class PortalSessionView(BaseModel):
    Id: str
    AccountId: str
    Url: str = Field(description="the portal: embed it with sdk.js, or open it with #token=<Token> appended")
    ExpiresAt: datetime
    Templates: list[str] | None
    AllowedOrigins: list[str]
    Theme: ThemeIn
    Locale: str
    ReturnUrl: str | None


class PortalSessionOut(PortalSessionView):
    Token: str = Field(description="a bearer token for the portal's routes, this account only, until ExpiresAt")


def portal_url(session_id: str) -> str:
    return f"{settings().public_url.rstrip('/')}/portal/?session={session_id}"


def view(row: PortalSession) -> PortalSessionView:
    options = row.options
    return PortalSessionView(Id=row.id, AccountId=row.account_id, Url=portal_url(row.id),
                             ExpiresAt=as_utc(row.expires_at),
                             Templates=options["Templates"], AllowedOrigins=options["AllowedOrigins"],
                             Theme=ThemeIn.model_validate(options["Theme"]), Locale=options["Locale"],
                             ReturnUrl=options["ReturnUrl"])


def _unknown_templates(db: Session, ids: list[str]) -> list[Problem]:
    known = set(db.exec(select(Template.id).where(Template.id.in_(ids))))
    return [Problem(f"$.Templates[{i}]", f"no template has the id '{id}'") for i, id in enumerate(ids) if id not in known]


@router.post("/v1.0/accounts/{account_id}/portal-sessions", status_code=201,
             summary="Open the connect portal for an account: its URL and a short-lived token (partner token)")
def create_session(account_id: str, body: PortalSessionIn, db: Db, claims: PartnerClaims) -> PortalSessionOut:
    if db.get(Account, account_id) is None:
        raise not_found("account", account_id)
    problems = body.Theme.problems() + _unknown_templates(db, body.Templates or [])
    if problems:
        raise ApiError(422, "The portal session is invalid; nothing was saved.", problems)
    options = body.model_dump(exclude={"ExpiresIn"}, mode="json")
    row = portal_sessions.create(db, account_id, options, timedelta(seconds=body.ExpiresIn))
    token = new_token(claims["sub"], {"scope": PORTAL_SCOPE, "account": account_id, "session": row.id,
                                      "exp": int(as_utc(row.expires_at).timestamp())})  # not a second after the session
    return PortalSessionOut(**view(row).model_dump(), Token=token)


@router.get("/v1.0/portal-sessions/{session_id}", summary="A portal session's options (its own token, or the "
            "partner's)")
def get_session(session_id: str, db: Db, claims: Claims) -> PortalSessionView:
    row = portal_sessions.live(db, session_id)
    if row is None or claims.get("account") not in (None, row.account_id) \
            or claims.get("session") not in (None, session_id):
        raise not_found("portal session", session_id)
    return view(row)
