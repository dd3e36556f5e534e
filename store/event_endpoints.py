"""The partner's event endpoints: where its backend takes signed events, which types, for every
account or one; the signing secret kept encrypted, shown once when it is generated."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlmodel import Session

from connectors import Problem
from connectors.errors import InvalidUrl
from connectors.urls import checked_url
from runtime.settings import settings
from store.crypto import decrypt, encrypt
from store.problems import Invalid
from store.tables import Account, DeliveryAttempt, EventDelivery, EventEndpoint

MAX_ENDPOINTS = 20  # for every account, and for each account
SECRET_BYTES = 32


@dataclass(frozen=True)
class EndpointChange:
    """What a partner sets on an endpoint; None leaves a field as it is."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    account_id: str | None = None
    description: str | None = None
    secret: str | None = None


def create(db: Session, change: EndpointChange) -> tuple[EventEndpoint, str | None]:
    """The new endpoint (`change` names its URL and event types), and its secret when it was
    generated: the only time it is shown."""
    _check(db, change)
    if _count(db, change.account_id) >= MAX_ENDPOINTS:
        scope = f"account '{change.account_id}'" if change.account_id else "every account"
        raise Invalid([Problem("$", f"{scope} has {MAX_ENDPOINTS} event endpoints already, the most it may have")])
    generated = None if change.secret else secrets.token_urlsafe(SECRET_BYTES)
    row = EventEndpoint(url=change.url, account_id=change.account_id, description=change.description,
                        event_types=list(change.event_types),
                        secret=encrypt(change.secret or generated))
    db.add(row)
    db.commit()
    return row, generated


def update(db: Session, row: EventEndpoint, change: EndpointChange) -> EventEndpoint:
    """Changes apply to the next attempt of every delivery, pending ones too; the event types
    and account to events from now on."""
    _check(db, change)
    if change.url is not None:
        row.url = change.url
    if change.event_types is not None:
        row.event_types = list(change.event_types)
    if change.description is not None:
        row.description = change.description
    if change.secret is not None:
        row.secret = encrypt(change.secret)
    db.add(row)
    db.commit()
    return row


def secret_of(row: EventEndpoint) -> str:
    return decrypt(row.secret)


def remove(db: Session, row: EventEndpoint) -> None:
    """The endpoint with its deliveries and their attempts: nothing more is sent to it."""
    _delete(db, EventEndpoint.id == row.id)
    db.commit()


def remove_for_account(db: Session, account_id: str) -> None:
    """An account's own endpoints, uncommitted: the account is being deleted."""
    _delete(db, EventEndpoint.account_id == account_id)


def _delete(db: Session, which) -> None:
    endpoints = select(EventEndpoint.id).where(which)
    deliveries = select(EventDelivery.id).where(EventDelivery.endpoint_id.in_(endpoints))
    # Locked first: an attempt the dispatcher records meanwhile (event_deliveries.record) waits,
    # then finds its delivery gone, rather than adding an attempt between the two deletes.
    db.execute(deliveries.with_for_update())
    db.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries)))
    db.execute(delete(EventDelivery).where(EventDelivery.endpoint_id.in_(endpoints)))
    db.execute(delete(EventEndpoint).where(which))


def _count(db: Session, account_id: str | None) -> int:
    same = EventEndpoint.account_id.is_(None) if account_id is None else EventEndpoint.account_id == account_id
    return db.execute(select(func.count()).select_from(EventEndpoint).where(same)).scalar_one()


def _check(db: Session, change: EndpointChange) -> None:
    problems = []
    if change.url is not None and (problem := url_problem(change.url)):
        problems.append(Problem("$.Url", problem))
    if change.account_id is not None and db.get(Account, change.account_id) is None:
        problems.append(Problem("$.AccountId", f"no account with id '{change.account_id}'"))
    if problems:
        raise Invalid(problems)


def url_problem(url: str) -> str | None:
    """What makes `url` no place to send events; the egress policy is checked here for an
    address, and on every attempt for a name (after DNS)."""
    try:
        parsed = checked_url(url)
    except InvalidUrl as err:
        return f"the URL {err.problem}"
    if parsed.user or parsed.password:
        return "must not hold credentials: each event is signed with the endpoint's secret instead"
    if parsed.fragment:
        return "must not have a fragment (#…)"
    if _is_address(parsed.host) and (refusal := settings().egress.refusal(parsed.host)):
        return refusal
    return None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
