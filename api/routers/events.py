"""Events to the partner's backend: its endpoints, and the deliveries of each event to them
with their attempts (partner token). See store/partner_events.py for what is sent."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, field_validator
from sqlmodel import select

from api.auth import PartnerClaims
from api.dependencies import Db, found
from api.errors import COMMON, responses
from store import event_deliveries, event_endpoints
from store.event_endpoints import EndpointChange
from store.partner_events import EventType
from store.tables import EventDelivery, EventEndpoint, PartnerEvent

router = APIRouter(tags=["events"], responses=responses(*COMMON))

UrlText = Annotated[str, Field(min_length=1, max_length=2000, description="an https (or allowed http) URL")]
EventTypeList = Annotated[list[EventType], Field(min_length=1, max_length=20)]
SecretText = Annotated[str, Field(min_length=16, max_length=200,
                                  description="the signing secret; omitted when creating: one is generated and shown once")]
DescriptionText = Annotated[str, Field(max_length=500)]
DeliveryStatus = Literal["Pending", "Delivered", "Failed"]


class EndpointIn(BaseModel):
    Url: UrlText
    EventTypes: EventTypeList
    AccountId: str | None = Field(None, description="only this account's events; none: every account's")
    Description: DescriptionText | None = None
    Secret: SecretText | None = None


class EndpointPatch(BaseModel):
    """Only the properties sent change (the account is fixed: make another endpoint instead)."""

    Url: UrlText | None = None
    EventTypes: EventTypeList | None = None
    Description: DescriptionText | None = None
    Secret: SecretText | None = None

    @field_validator("Url", "EventTypes", "Secret", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class EndpointOut(BaseModel):
    Id: str
    Url: str
    AccountId: str | None
    EventTypes: list[str]
    Description: str | None
    CreatedDate: datetime
    Secret: str | None = Field(None, description="the generated signing secret: shown only in the answer that made it")


class AttemptOut(BaseModel):
    Date: datetime
    StatusCode: int | None = Field(description="the receiver's HTTP status; null: no answer (see Error)")
    Response: str | None = Field(description="the start of the receiver's answer")
    Error: str | None
    Seconds: float


class DeliveryOut(BaseModel):
    Id: str
    EventId: str
    EventType: str
    EndpointId: str
    AccountId: str | None
    Status: DeliveryStatus
    AttemptCount: int = Field(description="attempts since it was queued or last replayed")
    NextAttemptDate: datetime | None
    CreatedDate: datetime
    UpdatedDate: datetime
    Event: dict[str, Any] = Field(description="the body every attempt sends")
    Attempts: list[AttemptOut] = Field(description="every attempt, oldest first")


def _endpoint(row: EventEndpoint, secret: str | None = None) -> EndpointOut:
    return EndpointOut(Id=row.id, Url=row.url, AccountId=row.account_id, EventTypes=row.event_types,
                       Description=row.description, CreatedDate=row.created_at, Secret=secret)


@router.post("/v1.0/event-endpoints", status_code=201, summary="Add an endpoint for events (partner token)")
def create_endpoint(body: EndpointIn, db: Db, _: PartnerClaims) -> EndpointOut:
    row, generated = event_endpoints.create(db, EndpointChange(
        url=body.Url, event_types=body.EventTypes, account_id=body.AccountId, description=body.Description,
        secret=body.Secret))
    return _endpoint(row, generated)


@router.get("/v1.0/event-endpoints", summary="List the endpoints for events (partner token)")
def list_endpoints(db: Db, _: PartnerClaims) -> list[EndpointOut]:
    return [_endpoint(row) for row in db.exec(select(EventEndpoint).order_by(EventEndpoint.created_at))]


@router.get("/v1.0/event-endpoints/{endpoint_id}", summary="Read an endpoint for events (partner token)")
def get_endpoint(endpoint_id: str, db: Db, _: PartnerClaims) -> EndpointOut:
    return _endpoint(found(db, EventEndpoint, endpoint_id, "event endpoint"))


@router.patch("/v1.0/event-endpoints/{endpoint_id}", summary="Change an endpoint for events (partner token)")
def change_endpoint(endpoint_id: str, body: EndpointPatch, db: Db, _: PartnerClaims) -> EndpointOut:
    row = found(db, EventEndpoint, endpoint_id, "event endpoint")
    return _endpoint(event_endpoints.update(db, row, EndpointChange(
        url=body.Url, event_types=body.EventTypes, description=body.Description, secret=body.Secret)))


@router.delete("/v1.0/event-endpoints/{endpoint_id}", status_code=204,
               summary="Remove an endpoint for events, with its deliveries (partner token)")
def delete_endpoint(endpoint_id: str, db: Db, _: PartnerClaims) -> None:
    event_endpoints.remove(db, found(db, EventEndpoint, endpoint_id, "event endpoint"))


def _deliveries(db: Db, rows: list[EventDelivery]) -> list[DeliveryOut]:
    attempts = event_deliveries.attempts_of(db, [row.id for row in rows])
    bodies = dict(db.execute(select(PartnerEvent.id, PartnerEvent.body)
                             .where(PartnerEvent.id.in_({row.event_id for row in rows}))).all())
    return [DeliveryOut(
        Id=row.id, EventId=row.event_id, EventType=row.event_type, EndpointId=row.endpoint_id,
        AccountId=row.account_id, Status=row.status, AttemptCount=row.attempts, NextAttemptDate=row.next_attempt_at,
        CreatedDate=row.created_at, UpdatedDate=row.updated_at, Event=json.loads(bodies[row.event_id]),
        Attempts=[AttemptOut(Date=a.at, StatusCode=a.status_code, Response=a.response, Error=a.error,
                             Seconds=a.seconds) for a in attempts[row.id]],
    ) for row in rows]


@router.get("/v1.0/event-deliveries", summary="List deliveries of events with their attempts, newest first (partner token)")
def list_deliveries(
    db: Db, _: PartnerClaims, response: Response,
    event_type: EventType | None = None,
    status: DeliveryStatus | None = None,
    account_id: str | None = None,
    endpoint_id: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    """`Total-Records` and `Total-Pages` headers say how many there are."""
    query = event_deliveries.listing(event_type=event_type, status=status, account_id=account_id,
                                     endpoint_id=endpoint_id)
    total = event_deliveries.count(db, query)
    response.headers["Total-Records"] = str(total)
    response.headers["Total-Pages"] = str(math.ceil(total / per_page))
    return _deliveries(db, list(db.execute(query.offset((page - 1) * per_page).limit(per_page)).scalars()))


@router.get("/v1.0/event-deliveries/{delivery_id}", summary="Read a delivery of an event with its attempts (partner token)")
def get_delivery(delivery_id: str, db: Db, _: PartnerClaims) -> DeliveryOut:
    return _deliveries(db, [found(db, EventDelivery, delivery_id, "event delivery")])[0]


@router.post("/v1.0/event-deliveries/{delivery_id}/replay", status_code=202,
             summary="Send a delivery's event again, the same id and body, as a new attempt (partner token)")
def replay_delivery(delivery_id: str, db: Db, _: PartnerClaims) -> DeliveryOut:
    row = event_deliveries.replay(db, found(db, EventDelivery, delivery_id, "event delivery"))
    return _deliveries(db, [row])[0]
