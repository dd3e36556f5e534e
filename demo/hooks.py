"""Demo webhook subscriptions: what a connector's CreateWebhookMethod and DeleteWebhookMethod
call. `/admin/hooks` shows the subscriptions there are.

Signed hooks work as Asana's do: subscribing makes a handshake, a POST to the URL carrying a
fresh secret in `X-Hook-Secret`, which must come back in the answer's header before the
subscription is made; every event is then signed with it (`X-Hook-Signature`, the hex
HMAC-SHA256 of the body). `/admin/signed-hooks/{id}/deliver` posts events as the service would.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Header, HTTPException, Response
from pydantic import BaseModel


class HookIn(BaseModel):
    url: str


class DeliveryIn(BaseModel):
    events: list[dict[str, Any]]
    wrong_signature: bool = False


@dataclass
class SignedHook:
    url: str
    secret: str


def hooks_router(token: str) -> APIRouter:
    router = APIRouter()
    hooks: dict[str, str] = {}  # id -> the URL events would be posted to
    ids = itertools.count(1)

    def check(authorization: str | None) -> None:
        if authorization != f"Bearer {token}":
            raise HTTPException(401, "bad token")

    @router.post("/leads/hooks", status_code=201)
    def subscribe(body: HookIn, authorization: Annotated[str | None, Header()] = None) -> dict:
        check(authorization)
        hook_id = f"hook-{next(ids)}"
        hooks[hook_id] = body.url
        return {"id": hook_id, "url": body.url}

    @router.delete("/leads/hooks/{hook_id}", status_code=204)
    def unsubscribe(hook_id: str, authorization: Annotated[str | None, Header()] = None) -> Response:
        check(authorization)
        if hooks.pop(hook_id, None) is None:
            raise HTTPException(404, f"no subscription {hook_id}")
        return Response(status_code=204)

    @router.get("/admin/hooks")
    def listing() -> dict[str, str]:
        return dict(hooks)

    signed: dict[str, SignedHook] = {}

    @router.post("/leads/signed-hooks", status_code=201)
    def subscribe_signed(body: HookIn, authorization: Annotated[str | None, Header()] = None) -> dict:
        check(authorization)
        secret = secrets.token_hex(16)
        try:
            answer = httpx.post(body.url, json={}, headers={"X-Hook-Secret": secret}, timeout=30)
        except httpx.HTTPError as err:
            raise HTTPException(400, f"the handshake with {body.url} failed: {err}") from None
        if answer.status_code != 200 or answer.headers.get("X-Hook-Secret") != secret:
            raise HTTPException(400, f"the handshake was not answered: HTTP {answer.status_code}, "
                                     "X-Hook-Secret not echoed")
        hook_id = f"signed-{next(ids)}"
        signed[hook_id] = SignedHook(body.url, secret)
        return {"id": hook_id}

    @router.delete("/leads/signed-hooks/{hook_id}", status_code=204)
    def unsubscribe_signed(hook_id: str, authorization: Annotated[str | None, Header()] = None) -> Response:
        check(authorization)
        if signed.pop(hook_id, None) is None:
            raise HTTPException(404, f"no subscription {hook_id}")
        return Response(status_code=204)

    @router.post("/admin/signed-hooks/{hook_id}/deliver")
    def deliver(hook_id: str, body: DeliveryIn) -> dict[str, Any]:
        """Post `events` to the subscription's URL, signed (or, to test a refusal, not rightly)."""
        hook = signed.get(hook_id)
        if hook is None:
            raise HTTPException(404, f"no subscription {hook_id}")
        payload = json.dumps({"events": body.events}).encode()
        key = "not-the-secret" if body.wrong_signature else hook.secret
        signature = hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()
        answer = httpx.post(hook.url, content=payload, timeout=30,
                            headers={"Content-Type": "application/json", "X-Hook-Signature": signature})
        return {"status": answer.status_code, "body": answer.text}

    @router.get("/admin/signed-hooks")
    def signed_listing() -> dict[str, str]:
        return {hook_id: hook.url for hook_id, hook in signed.items()}

    return router
