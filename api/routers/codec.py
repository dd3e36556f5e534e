"""The remote codec for the Temporal Web UI and CLI: payloads encrypted with PAYLOAD_ENCRYPTION_KEY,
decrypted for someone holding a partner token, or the Web UI's signed-in user's token when the
UI's identity provider is configured (api/sso.py); and encrypted, for what the UI sends.

The bodies follow Temporal's remote codec protocol (protobuf JSON of Payloads, hence the
lower-case names); the X-Namespace header the UI sends is not needed: one process, one
namespace. Without PAYLOAD_ENCRYPTION_KEY there is nothing to decode: 404.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.security import HTTPBearer
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.auth import bearer_token, verified_claims
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
                       authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> None:
    """A partner token, or a token of the Web UI's sign-in; 401 for anything else."""
    token = bearer_token(authorization)
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


class CodecCors:
    """ASGI middleware: CORS (with its preflight) for the Web UI's calls to /codec, from
    CYCLEWRIGHT_CODEC_CORS_ORIGINS; the rest of the API stays closed to browsers of other origins."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=settings().codec_cors_origins, allow_methods=["POST"],
                                   allow_headers=["Authorization", "Content-Type", "X-Namespace"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        codec = scope["type"] == "http" and scope["path"].startswith(f"{PREFIX}/")
        await (self.cors if codec else self.app)(scope, receive, send)
