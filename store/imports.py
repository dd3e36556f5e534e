"""OpenAPI imports, run in the background: the API saves the document here and starts an
ImportWorkflow (workflows/imports.py), whose activity (activities/imports.py) converts it, saves
the connector as a Draft and records the outcome; the API answers how far it got.

An import that stops showing signs of life (a worker and its retries gone, or the API process
that saved it gone before the workflow started) is reported Failed once STALE has passed, so
none stays Running for ever.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from connectors import Problem
from connectors.openapi import Options
from store.tables import ConnectorRelease, OpenApiImport, utcnow

STALE = timedelta(minutes=5)  # far longer than an import's quiet moments: it heartbeats every few seconds


def create(db: Session, document: bytes, options: Options) -> OpenApiImport:
    row = OpenApiImport(document=document, options=asdict(options))
    db.add(row)
    db.commit()
    db.refresh(row)
    return row


def discard(db: Session, import_id: str) -> None:
    """An import whose workflow could not start: nothing of it was accepted."""
    if (row := db.get(OpenApiImport, import_id)) is not None:
        db.delete(row)
        db.commit()


def options_of(row: OpenApiImport) -> Options:
    return Options(**row.options)


def progress(db: Session, import_id: str, operations: int | None, converted: int) -> None:
    """A sign of life, with how far the import got."""
    row = db.get(OpenApiImport, import_id)
    if row is not None and row.status == "Running":
        row.operations, row.converted, row.updated_at = operations, converted, utcnow()
        db.commit()


def succeed(db: Session, import_id: str, release: ConnectorRelease, skipped: Iterable[Problem], operations: int
            ) -> None:
    row = db.get(OpenApiImport, import_id)
    row.status, row.connector_id, row.release_id = "Succeeded", release.connector_id, release.id
    row.operations = row.converted = operations
    row.skipped = [{"Path": p.path, "Message": p.message} for p in skipped]
    _finish(db, row)


def fail(db: Session, import_id: str, message: str, problems: Iterable[Problem] = ()) -> None:
    row = db.get(OpenApiImport, import_id)
    if row is not None and row.status == "Running":
        row.status, row.message = "Failed", message
        row.problems = [{"Path": p.path, "Message": p.message} for p in problems]
        _finish(db, row)


def _finish(db: Session, row: OpenApiImport) -> None:
    row.document, row.finished_at = b"", utcnow()  # the document is not kept once it is used
    row.updated_at = row.finished_at
    db.commit()


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str | None


def outcome(row: OpenApiImport, now: datetime) -> Outcome:
    """The import's status as it stands: Running with no sign of life for STALE is Failed."""
    updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=now.tzinfo)
    if row.status == "Running" and now - updated > STALE:
        return Outcome("Failed", f"the import stopped without finishing (no sign of it for {STALE}): nothing "
                                 f"was saved; import the document again (workflow import-{row.id} says why)")
    return Outcome(row.status, row.message)
