"""Webhook signatures taken: a timestamped signature is taken once, so a captured request that is
posted again within its window is refused (after the window its timestamp refuses it).

A signature is remembered in the same commit as its event (store/inbound.py accept), so an
event is queued if and only if its signature is taken, whatever process or crash comes between.
Every PURGE_EVERY seconds one of those commits also forgets the signatures past the window
(CYCLEWRIGHT_WEBHOOK_TOLERANCE_SECONDS: the same on every API process).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from runtime.settings import settings
from store.tables import WebhookSignature

TABLE = WebhookSignature.__table__
# Compiled once: an executemany with RETURNING is sent as one INSERT of many rows.
_TAKE = {name: dialect.insert(TABLE).on_conflict_do_nothing().returning(*TABLE.primary_key.columns)
         for name, dialect in {"sqlite": sqlite, "postgresql": postgresql}.items()}
PURGE_EVERY = 10.0  # seconds: each purge deletes what left the window meanwhile
_purged_at = 0.0  # monotonic: this process's last purge


@dataclass(frozen=True)
class Signature:
    """The signature an event came with, for a Webhook step."""

    step_id: str
    value: str  # the hex HMAC
    signed_at: int  # its timestamp: epoch seconds, by the sender's clock


def take(connection: Connection, signatures: Sequence[Signature]) -> list[bool]:
    """Whether each signature is new: remembered now (in the connection's transaction: the
    caller commits it with the events); False for one taken before, or earlier in `signatures`."""
    if not signatures:
        return []
    _purge_when_due(connection)
    keys = [(s.signed_at, s.step_id, s.value) for s in signatures]
    first: dict[tuple[int, str, str], int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    rows = [{"signed_at": at, "step_id": step, "signature": value} for at, step, value in first]
    new = {tuple(row) for row in connection.execute(_TAKE[connection.dialect.name], rows)}
    return [first[key] == i and key in new for i, key in enumerate(keys)]


def purge(connection: Connection, before: float) -> int:
    """Forget the signatures made before `before` (epoch seconds); how many."""
    return connection.execute(delete(TABLE).where(TABLE.c.signed_at < before)).rowcount


def _purge_when_due(connection: Connection) -> None:
    global _purged_at
    if time.monotonic() - _purged_at >= PURGE_EVERY:
        purge(connection, time.time() - settings().webhook_tolerance)
        _purged_at = time.monotonic()
