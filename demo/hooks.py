"""Demo webhook subscriptions: what a connector's CreateWebhookMethod and DeleteWebhookMethod
call. `/admin/hooks` shows the subscriptions there are."""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response
from pydantic import BaseModel


class HookIn(BaseModel):
    url: str


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

    return router
