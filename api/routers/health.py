from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from api.errors import ApiError, responses
from store.database import session

router = APIRouter(tags=["operations"])


class HealthOut(BaseModel):
    Status: Literal["ok", "ready"]


def _database_answers() -> None:
    with session() as db:
        db.exec(text("SELECT 1"))


@router.get("/healthz", summary="The API process is up")
def healthz() -> HealthOut:
    return HealthOut(Status="ok")


@router.get("/readyz", summary="The database and Temporal answer", responses=responses(503))
async def readyz(request: Request) -> HealthOut:
    try:
        await run_in_threadpool(_database_answers)
        await request.app.state.temporal.service_client.check_health()
    except (SQLAlchemyError, RPCError, RuntimeError) as err:
        raise ApiError(503, f"not ready: {type(err).__name__}") from None
    return HealthOut(Status="ready")
