"""Connectors' partner webhooks in the store (connectors/partner_webhooks.py): each one's URL and
secret, the routing key every account connector keeps, and the cycles an event reaches.

An event reaches the Webhook steps of the cycles of every account connector whose key (the
value of the connector's AccountProperty, kept in the clear and indexed) is the event's; never a
cycle of another account. Its events and the request's signature are committed together on the
inbound queue (store/inbound.py), so an event acknowledged is never lost and a replayed request
queues nothing.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from connectors import Connector
from connectors.partner_webhooks import property_key
from store import inbound, signatures
from store.connections import load_release
from store.connectors import live_release
from store.crypto import decrypt, decrypt_json, encrypt
from store.tables import AccountConnector, ConnectorRelease, ConnectorWebhook, Cycle, CycleStep
from store.tables import Connector as ConnectorRow

ACCOUNT_CONNECTORS, STEPS = AccountConnector.__table__, CycleStep.__table__
CYCLES, RELEASES = Cycle.__table__, ConnectorRelease.__table__


@dataclass(frozen=True)
class PartnerHook:
    """What a partner webhook URL leads to: its connector, as its Live release describes it."""

    webhook_id: str
    connector_id: str
    connector: Connector
    secret: str | None


Target = tuple[str, str]  # a cycle, and its Webhook step


def keep_key(row: AccountConnector, connector: Connector, properties: Mapping[str, str]) -> None:
    """The account connector's routing key, from its properties as `connector` routes events."""
    row.partner_webhook_key = property_key(connector, properties)


def rekey(db: Session, connector_id: str) -> None:
    """Every account connector of the connector keyed again, each as its own release routes
    events (a publish may change the AccountProperty); the caller commits."""
    for row in db.execute(select(AccountConnector).where(AccountConnector.connector_id == connector_id)).scalars():
        keep_key(row, load_release(db, row.release_id), decrypt_json(row.properties))


def live_spec(db: Session, connector_id: str) -> Connector | None:
    release = live_release(db, connector_id)
    return load_release(db, release.id) if release else None


def hook(db: Session, webhook_id: str) -> PartnerHook | None:
    row = db.execute(select(ConnectorWebhook).where(ConnectorWebhook.webhook_id == webhook_id)).scalars().first()
    release = live_release(db, row.connector_id) if row else None
    if release is None:
        return None
    return PartnerHook(row.webhook_id, row.connector_id, load_release(db, release.id), decrypt(row.secret))


def of_connector(db: Session, connector: ConnectorRow) -> ConnectorWebhook | None:
    return db.get(ConnectorWebhook, connector.id)


def set_secret(db: Session, connector: ConnectorRow, secret: str | None) -> ConnectorWebhook:
    """The connector's partner webhook, made the first time, with this secret (None: none)."""
    row = of_connector(db, connector) or ConnectorWebhook(connector_id=connector.id,
                                                          webhook_id=secrets.token_urlsafe(24))
    row.secret = encrypt(secret) if secret else None
    db.add(row)
    db.commit()
    return row


def targets(connection: Connection, connector_id: str, keys: set[str]) -> dict[str, list[Target]]:
    """For each key, the Webhook steps of the connector in the cycles of the accounts whose
    account connector has that key: bound to that account connector, or (installed before it)
    to none in the same account."""
    found = connection.execute(
        select(ACCOUNT_CONNECTORS.c.id, ACCOUNT_CONNECTORS.c.account_id, ACCOUNT_CONNECTORS.c.partner_webhook_key)
        .where(ACCOUNT_CONNECTORS.c.connector_id == connector_id,
               ACCOUNT_CONNECTORS.c.partner_webhook_key.in_(keys))).all()
    if not found:
        return {}
    steps = connection.execute(
        select(STEPS.c.id, STEPS.c.cycle_id, STEPS.c.account_connector_id, CYCLES.c.account_id)
        .join(CYCLES, CYCLES.c.id == STEPS.c.cycle_id).join(RELEASES, RELEASES.c.id == STEPS.c.release_id)
        .where(STEPS.c.type == "Webhook", RELEASES.c.connector_id == connector_id,
               or_(STEPS.c.account_connector_id.in_([f.id for f in found]),
                   STEPS.c.account_connector_id.is_(None) & CYCLES.c.account_id.in_([f.account_id for f in found]))
               ).order_by(STEPS.c.cycle_id)).all()
    reached: dict[str, list[Target]] = defaultdict(list)
    for account_connector in found:
        reached[account_connector.partner_webhook_key] += [
            (step.cycle_id, step.id) for step in steps
            if step.account_connector_id == account_connector.id
            or (step.account_connector_id is None and step.account_id == account_connector.account_id)]
    return dict(reached)


def deliver(connection: Connection, events: Sequence[inbound.Event],
            signature: signatures.Signature | None) -> list[inbound.Admission] | None:
    """Queue the events (each for one cycle) with the request's signature, in one commit; what
    became of each, or None when the signature was taken already (nothing is queued then)."""
    if signature is not None and not signatures.take(connection, [signature])[0]:
        connection.rollback()
        return None
    return inbound.accept(connection, events)  # commits the signature with the events
