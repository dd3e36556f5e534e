"""GET /metrics: the API process's metrics in Prometheus text format, for scraping.

Unauthenticated, as scrape endpoints are: it holds counts by status and connector, never an
id or a record; keep it off the public network (or filter it at the ingress) if that matters."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.control import control
from runtime.metrics import report_store_lag

router = APIRouter(tags=["operations"])
report_store_lag()  # once per process: the registry is the process's


@router.get("/metrics", summary="Metrics in Prometheus format", include_in_schema=False)
async def metrics() -> Response:
    # On a control thread: the store lag is read from the database (on a control connection).
    return Response(await control(generate_latest, REGISTRY), media_type=CONTENT_TYPE_LATEST)
