from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from api.errors import ApiError
from store.database import session

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict:
    return {"Status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict:
    try:
        with session() as db:
            db.exec(text("SELECT 1"))
        await request.app.state.temporal.service_client.check_health()
    except (SQLAlchemyError, RPCError, RuntimeError) as err:
        raise ApiError(503, f"not ready: {type(err).__name__}") from None
    return {"Status": "ready"}
