"""Inbound webhooks (DESIGN §4): each event durable before its 202, many to one commit, and one
wake-up of the cycle for many events. The app answers these requests in api/intake.py, ahead
of FastAPI; the route is declared here for the API's documentation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from api.errors import responses
from api.intake import Accepted, receive_event

router = APIRouter(prefix="/v1.0/webhooks", tags=["webhooks"], responses=responses(401, 404, 409, 413, 422))


@router.post("/{webhook_id}", status_code=202, response_model=Accepted,
             summary="Receive an event for a webhook-driven cycle",
             description="The event is a durable transaction before this answers 202. Bodies are JSON, "
                         "at most 256 KiB; with a secret set on the step, `X-Signature` must be "
                         "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` (401 otherwise), made "
                         "within `CYCLEWRIGHT_WEBHOOK_TOLERANCE_SECONDS` (300), and is taken once (409 for a "
                         "replay); the bare hex HMAC of the body only where the step opts in. A connector's "
                         "`before_webhook` script may check, reshape or refuse the event, and set the answer "
                         "(a handshake's, say).")
async def receive(webhook_id: str, request: Request, x_signature: Annotated[str | None, Header()] = None) -> Response:
    return await receive_event(request, webhook_id, await request.body(), x_signature)
