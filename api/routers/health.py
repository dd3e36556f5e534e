from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from api.errors import ApiError, responses
from connectors import Problem
from runtime.namespace import lacking
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


@router.get("/readyz", summary="The database and Temporal answer, and Temporal's namespace has what the "
            "workflows use", responses=responses(503))
async def readyz(request: Request) -> HealthOut:
    client = request.app.state.temporal
    try:
        await run_in_threadpool(_database_answers)
        await client.service_client.check_health()
        lacks = await lacking(client)
    except (SQLAlchemyError, RPCError, RuntimeError) as err:
        raise ApiError(503, f"not ready: {type(err).__name__}") from None
    if lacks:
        raise ApiError(503, f"not ready: Temporal's namespace {lacks.namespace} lacks what the workflows use",
                       [Problem("temporal.namespace", str(lacks))])
    return HealthOut(Status="ready")
