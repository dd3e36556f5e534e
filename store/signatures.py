"""Webhook signatures taken: a timestamped signature is taken once, so a captured request that is
posted again within its window is refused (after the window its timestamp refuses it).

A signature is remembered in the same commit as its event (store/inbound.py accept), so an
event is queued if and only if its signature is taken, whatever process or crash comes between.
Signatures past their window are purged, every PURGE_EVERY seconds, in one of those commits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from store.tables import WebhookSignature

TABLE = WebhookSignature.__table__
# Compiled once: an executemany with RETURNING is sent as one INSERT of many rows.
_TAKE = {name: dialect.insert(TABLE).on_conflict_do_nothing().returning(TABLE.c.step_id, TABLE.c.signature)
         for name, dialect in {"sqlite": sqlite, "postgresql": postgresql}.items()}
PURGE_EVERY = 10.0  # seconds: each purge deletes what expired meanwhile, a few thousand rows at most
_purged_at = 0.0  # monotonic: this process's last purge


@dataclass(frozen=True)
class Signature:
    """The signature an event came with, for a Webhook step, and until when it is remembered."""

    step_id: str
    value: str  # the hex HMAC
    expires_at: float  # epoch seconds: its timestamp plus the tolerance


def take(connection: Connection, signatures: Sequence[Signature]) -> list[bool]:
    """Whether each signature is new: remembered now (in the connection's transaction: the
    caller commits it with the events); False for one taken before, or earlier in `signatures`."""
    if not signatures:
        return []
    _purge_when_due(connection)
    first: dict[tuple[str, str], int] = {}
    for i, signature in enumerate(signatures):
        first.setdefault((signature.step_id, signature.value), i)
    rows = [{"step_id": s.step_id, "signature": s.value, "expires_at": s.expires_at}
            for s in (signatures[i] for i in first.values())]
    inserted = connection.execute(_TAKE[connection.dialect.name], rows)  # one statement, many rows
    new = {tuple(row) for row in inserted}
    return [first[key] == i and key in new
            for i, key in enumerate((s.step_id, s.value) for s in signatures)]


def purge(connection: Connection, now: float) -> int:
    """Forget the signatures whose window closed before `now`; how many."""
    return connection.execute(delete(TABLE).where(TABLE.c.expires_at < now)).rowcount


def _purge_when_due(connection: Connection) -> None:
    global _purged_at
    if time.monotonic() - _purged_at >= PURGE_EVERY:
        purge(connection, time.time())
        _purged_at = time.monotonic()
