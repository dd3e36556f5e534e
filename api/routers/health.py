from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

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
    except Exception as err:  # readiness reports any dependency failure, whatever its kind
        raise ApiError(503, f"not ready: {type(err).__name__}") from None
    return {"Status": "ready"}
