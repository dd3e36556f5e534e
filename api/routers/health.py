"""Health and readiness: answered on the event loop, their reads through the control lane
(api/admission.py), so they answer however busy the API's lanes, pool and threads are."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from api.control import control
from api.dependencies import TEMPORAL_TIMEOUT
from api.errors import responses, unavailable
from connectors import Problem
from runtime.namespace import lacking
from store.database import control_session

router = APIRouter(tags=["operations"])


class HealthOut(BaseModel):
    Status: Literal["ok", "ready"]


def _database_answers() -> None:
    with control_session() as db:
        db.exec(text("SELECT 1"))


@router.get("/healthz", summary="The API process is up")
async def healthz() -> HealthOut:
    return HealthOut(Status="ok")


@router.get("/readyz", summary="The database and Temporal answer, and Temporal's namespace has what the "
            "workflows use", responses=responses(503))
async def readyz(request: Request) -> HealthOut:
    client = request.app.state.temporal
    try:
        await control(_database_answers)
        await client.service_client.check_health(timeout=TEMPORAL_TIMEOUT)
        lacks = await lacking(client)
    except (SQLAlchemyError, RPCError, RuntimeError) as err:
        raise unavailable(f"not ready: {type(err).__name__}") from None
    if lacks:
        raise unavailable(f"not ready: Temporal's namespace {lacks.namespace} lacks what the workflows use",
                          [Problem("temporal.namespace", str(lacks))])
    return HealthOut(Status="ready")
