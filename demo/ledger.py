"""A demo API that takes only signed requests and answers in a shape field paths cannot read:
what connector scripts are for.

Each request carries `X-Timestamp` and `X-Signature`, the hex HMAC-SHA256, keyed with the
account's signing secret, of `timestamp + "\\n" + path?query + "\\n" + body`. Listings come as
columns and rows, which an after_action script turns into objects. `/admin/ledger` shows the
entries.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request

COLUMNS = ["id", "email", "amount"]
Timestamp = Annotated[str | None, Header(alias="X-Timestamp")]
Signature = Annotated[str | None, Header(alias="X-Signature")]


def ledger_router(secret: str) -> APIRouter:
    router = APIRouter()
    entries: dict[int, dict[str, Any]] = {1: {"id": 1, "email": "first@example.com", "amount": 10},
                                          2: {"id": 2, "email": "second@example.com", "amount": 25.5}}
    ids = itertools.count(3)

    async def signed(request: Request, timestamp: str | None, signature: str | None) -> None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = f"{timestamp}\n{path}\n".encode() + await request.body()
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        if not (timestamp and signature and hmac.compare_digest(expected, signature)):
            raise HTTPException(401, "missing or wrong X-Signature")

    @router.get("/ledger/entries")
    async def listing(request: Request, timestamp: Timestamp = None, signature: Signature = None) -> dict:
        await signed(request, timestamp, signature)
        return {"columns": COLUMNS, "rows": [[e[c] for c in COLUMNS] for e in entries.values()]}

    @router.get("/ledger/entries/{entry_id}")
    async def entry(entry_id: int, request: Request, timestamp: Timestamp = None,
                    signature: Signature = None) -> dict:
        await signed(request, timestamp, signature)
        if entry_id not in entries:
            raise HTTPException(404, f"no entry {entry_id}")
        return {"columns": COLUMNS, "rows": [[entries[entry_id][c] for c in COLUMNS]]}

    @router.post("/ledger/entries", status_code=201)
    async def create(request: Request, timestamp: Timestamp = None, signature: Signature = None) -> dict:
        await signed(request, timestamp, signature)
        body = await request.json()
        entry_id = next(ids)
        entries[entry_id] = {"id": entry_id, "email": body.get("email"), "amount": body.get("amount")}
        return {"id": entry_id}

    @router.get("/admin/ledger")
    def admin() -> list[dict[str, Any]]:
        return list(entries.values())

    return router
