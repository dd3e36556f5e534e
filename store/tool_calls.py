"""Agents' tool calls (api/tool_calls.py): one row per account and call key, whose id derives
from them, so a repeated key finds the call it made. The arguments and the result are
encrypted at rest; the workflow (workflows/tool_call.py) carries only the id.

Status: AwaitingApproval → Running (approved) | Rejected | Expired; Running → Completed | Failed.
A decision or an outcome is written only from the status before it, so a late or repeated
write changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from store.crypto import decrypt, encrypt
from store.tables import ToolCall, utcnow

RESULT_LIMIT = 64_000  # characters of a result's JSON kept: records past it are left out, and it says so
TERMINAL = ("Completed", "Failed", "Rejected", "Expired")


def call_id(account_id: str, call_key: str) -> str:
    """The call's id for an account's key: no part of the key shows in it (nor in the workflow id)."""
    return hashlib.sha256(f"{account_id}\n{call_key}".encode(errors="surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class NewCall:
    id: str
    account_id: str
    account_connector_id: str
    method: str
    tool: str
    arguments: dict[str, Any]
    masked: list[str]
    approval: bool
    expires_at: datetime | None


def create(db: Session, call: NewCall) -> tuple[ToolCall, bool]:
    """The call's row, and whether this made it (False: its key was used before; the row as it is)."""
    if (row := db.get(ToolCall, call.id)) is not None:
        return row, False
    row = ToolCall(id=call.id, account_id=call.account_id, account_connector_id=call.account_connector_id,
                   method=call.method, tool=call.tool, arguments=encrypt(json.dumps(call.arguments)),
                   masked=call.masked, approval=call.approval, expires_at=call.expires_at,
                   status="AwaitingApproval" if call.approval else "Running")
    db.add(row)
    try:
        db.commit()
    except IntegrityError:  # the same key, at the same moment
        db.rollback()
        return db.get(ToolCall, call.id), False
    return row, True


def discard(db: Session, id: str) -> None:
    """A call whose workflow could not start: nothing of it was accepted."""
    if (row := db.get(ToolCall, id)) is not None:
        db.delete(row)
        db.commit()


def arguments(row: ToolCall) -> dict[str, Any]:
    return json.loads(decrypt(row.arguments))


def result(row: ToolCall) -> Any:
    return None if row.result is None else json.loads(decrypt(row.result))


def same_request(row: ToolCall, call: NewCall) -> bool:
    return (row.account_connector_id, row.method, row.approval, arguments(row)) == \
        (call.account_connector_id, call.method, call.approval, call.arguments)


def decide(db: Session, id: str, status: str, by: str | None, at: datetime) -> bool:
    """Approved (Running), Rejected or Expired, from AwaitingApproval only: whether it was."""
    error = {"Rejected": f"rejected by {by}: nothing was sent",
             "Expired": "nobody approved it before its approval expired: nothing was sent"}.get(status)
    changed = db.execute(update(ToolCall).where(ToolCall.id == id, ToolCall.status == "AwaitingApproval").values(
        status=status, decided_by=by, decided_at=at, error=error, finished_at=None if status == "Running" else at))
    db.commit()
    return changed.rowcount == 1


def complete(db: Session, id: str, records: list[Any]) -> None:
    kept, truncated = bounded(records)
    _finish(db, id, "Completed", result=encrypt(json.dumps(kept)), result_truncated=truncated)


def fail(db: Session, id: str, error: str) -> None:
    _finish(db, id, "Failed", error=error)


def _finish(db: Session, id: str, status: str, **values: Any) -> None:
    db.execute(update(ToolCall).where(ToolCall.id == id, ToolCall.status == "Running").values(
        status=status, finished_at=utcnow(), **values))
    db.commit()


def bounded(records: list[Any]) -> tuple[list[Any], bool]:
    """As many records as fit in RESULT_LIMIT characters of JSON, and whether any were left out."""
    kept, size = [], 2
    for record in records:
        size += len(json.dumps(record)) + 1
        if size > RESULT_LIMIT:
            return kept, True
        kept.append(record)
    return kept, False


def listing(account_id: str, statuses: Collection[str] = ()) -> Select:
    """The account's calls, newest first."""
    query = select(ToolCall).where(ToolCall.account_id == account_id)
    if statuses:
        query = query.where(ToolCall.status.in_(statuses))
    return query.order_by(ToolCall.created_at.desc(), ToolCall.id)
