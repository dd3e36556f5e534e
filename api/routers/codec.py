"""The remote codec for the Temporal Web UI and CLI: payloads encrypted with PAYLOAD_ENCRYPTION_KEY
(failures' messages and stack traces among them, in their encoded attributes: runtime/temporal.py),
decrypted for someone holding a partner token, or the Web UI's signed-in user's token when the
UI's identity provider is configured (api/sso.py); and encrypted, for what the UI sends.

A browser without either (the dev server's UI has no sign-in) signs in at /codec/signin with the
partner's client id and secret: an HttpOnly cookie for /codec only then carries a partner token,
which the UI sends once its "Include cross-origin credentials" is on.

The bodies follow Temporal's remote codec protocol (protobuf JSON of Payloads, hence the
lower-case names); the X-Namespace header the UI sends is not needed: one process, one
namespace. Without PAYLOAD_ENCRYPTION_KEY there is nothing to decode: 404.
"""

from __future__ import annotations

import html
import time
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Form, Header, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPBearer
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.auth import (
    PARTNER_SCOPE,
    TOKEN_LIFETIME,
    bearer_token,
    known_client,
    new_token,
    verified_claims,
)
from api.errors import COMMON, ApiError, responses
from api.sso import SsoTokens
from runtime.codec import EncryptionCodec, PayloadUndecryptable
from runtime.settings import settings

PREFIX = "/codec"


@cache
def _sso() -> SsoTokens | None:
    configured = settings().codec_sso
    return SsoTokens(*configured) if configured else None


async def codec_caller(_: Annotated[object, Depends(HTTPBearer(scheme_name="Bearer", auto_error=False))],
                       authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
                       cyclewright_codec: Annotated[str | None, Cookie(include_in_schema=False)] = None) -> None:
    """A partner token (the header's, else the sign-in cookie's), or a token of the Web UI's
    sign-in; 401 for anything else."""
    token = cyclewright_codec if authorization is None and cyclewright_codec else bearer_token(authorization)
    try:
        claims = verified_claims(token)
    except ApiError:
        sso = _sso()
        if sso is not None and await sso.valid(token):
            return
        raise
    if claims.get("account"):
        raise ApiError(403, "decoding payloads needs a partner token; the token is scoped to one account")


router = APIRouter(prefix=PREFIX, tags=["codec"], dependencies=[Depends(codec_caller)], responses=responses(*COMMON))


class CodecPayload(BaseModel):
    metadata: dict[str, str] = Field(default={}, description="name -> base64 value")
    data: str = Field(default="", description="base64")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = []


@cache
def _codec() -> EncryptionCodec:
    keys = settings().payload_keys
    if keys is None:
        raise ApiError(404, "payloads are not encrypted here (PAYLOAD_ENCRYPTION_KEY is not set)")
    return EncryptionCodec(keys)


def _payloads(body: CodecPayloads) -> Payloads:
    try:
        return ParseDict(body.model_dump(), Payloads())
    except ParseError as err:
        raise ApiError(422, f"the payloads are not protobuf JSON: {err}") from None


def _body(payloads: list) -> CodecPayloads:
    return CodecPayloads.model_validate(MessageToDict(Payloads(payloads=payloads)))


@router.post("/encode", summary="Encrypt payloads (Temporal remote codec)")
async def encode(body: CodecPayloads) -> CodecPayloads:
    codec = _codec()
    return _body(await codec.encode(_payloads(body).payloads))


@router.post("/decode", summary="Decrypt payloads (Temporal remote codec)")
async def decode(body: CodecPayloads) -> CodecPayloads:
    codec = _codec()
    try:
        return _body(await codec.decode(_payloads(body).payloads))
    except PayloadUndecryptable as err:
        raise ApiError(422, str(err)) from None


signin = APIRouter(prefix=PREFIX, tags=["codec"])
COOKIE = "cyclewright_codec"


def _page(message: str, *, form: bool) -> str:
    fields = ('<form method="post"><label>Client id <input name="client_id" autocomplete="username"></label> '
              '<label>Client secret <input name="client_secret" type="password" autocomplete="current-password">'
              '</label> <button>Sign in</button></form>') if form else ""
    return (f"<!doctype html><meta charset=utf-8><title>Cyclewright codec sign-in</title>"
            f"<h1>Decode payloads in the Temporal Web UI</h1><p>{html.escape(message)}</p>{fields}")


_HOW = ("In the Web UI's Data Encoder settings, use this browser's settings with the endpoint {endpoint} "
        "and turn on \"Include cross-origin credentials\".")


_HTML = {"content": {"text/html": {}}}


@signin.get("/signin", summary="Sign this browser in to decode payloads in the Web UI",
            responses={200: {"description": "The sign-in form", **_HTML}})
def signin_form() -> HTMLResponse:
    message = "Sign in with the partner's client id and secret. " + _HOW.format(endpoint=_endpoint())
    return HTMLResponse(_page(message, form=True))


@signin.post("/signin", summary="Sign this browser in to decode payloads in the Web UI",
             responses={200: {"description": "Signed in: the cookie is set", **_HTML},
                        401: {"description": "Unknown client id or secret: the form again", **_HTML},
                        **responses(413, 422)})
def sign_in(request: Request, client_id: Annotated[str, Form(max_length=200)] = "",
            client_secret: Annotated[str, Form(max_length=200)] = "") -> HTMLResponse:
    if not known_client(client_id, client_secret):
        return HTMLResponse(_page("Unknown client id or secret.", form=True), status_code=401)
    until = time.strftime("%H:%M UTC", time.gmtime(time.time() + TOKEN_LIFETIME))
    response = HTMLResponse(_page(f"Signed in until {until}. " + _HOW.format(endpoint=_endpoint()), form=False))
    response.set_cookie(COOKIE, new_token(client_id, {"scope": PARTNER_SCOPE}), max_age=TOKEN_LIFETIME, path=PREFIX,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def _endpoint() -> str:
    return f"{settings().public_url.rstrip('/')}{PREFIX}"


class CodecCors:
    """ASGI middleware: CORS (with its preflight) for the Web UI's calls to /codec, from
    CYCLEWRIGHT_CODEC_CORS_ORIGINS; the rest of the API stays closed to browsers of other origins."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=settings().codec_cors_origins, allow_methods=["POST"],
                                   allow_headers=["Authorization", "Content-Type", "X-Namespace"],
                                   allow_credentials=True)  # the sign-in cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        codec = scope["type"] == "http" and scope["path"].startswith(f"{PREFIX}/")
        await (self.cors if codec else self.app)(scope, receive, send)
