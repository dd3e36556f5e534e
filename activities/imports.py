"""OpenAPI imports: the document converted in a thread (it is CPU work: seconds for GitHub's), the
connector saved as a Draft, the outcome recorded (store/imports.py). How far it got is saved
every few seconds, which is also its sign of life; a document that is no OpenAPI, or makes no
valid connector, fails the import at once: no retry would change it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio import activity

from connectors import ConnectorInvalid, Problem, openapi
from connectors.nesting import TooDeep
from store import connectors, imports
from store.database import session
from store.tables import OpenApiImport
from workflows import names

SAVE_EVERY = 1.0  # seconds between progress writes (and heartbeats)


@dataclass
class Counts:
    operations: int | None = None
    converted: int = 0

    def update(self, converted: int, operations: int) -> None:
        self.converted, self.operations = converted, operations


def _import(import_id: str, counts: Counts) -> str:
    with session() as db:
        row = db.get(OpenApiImport, import_id)
        if row is None or row.status != "Running":
            return f"import {import_id} is {row.status if row else 'gone'}: nothing to do"
        document, options = row.document, imports.options_of(row)
    try:
        parsed = openapi.load(document)
        counts.operations = openapi.operations(parsed)
        imported = openapi.import_openapi(parsed, options, progress=counts.update)
    except (openapi.NotOpenApi, TooDeep) as err:
        return _failed(import_id, "The document is not an OpenAPI 3.x or Swagger 2.0 document; nothing was saved.",
                       [Problem("$", str(err))])
    with session() as db:
        try:
            _, release = connectors.upload(db, imported.document, draft=True)
        except ConnectorInvalid as err:
            db.rollback()
            return _failed(import_id, "The connector made of the document is invalid; nothing was saved.",
                           err.problems)
        imports.succeed(db, import_id, release, imported.skipped, counts.converted)
    return f"connector {release.connector_id}: {len(imported.document['Methods'])} method(s), " \
           f"{len(imported.skipped)} item(s) not converted"


def _failed(import_id: str, message: str, problems: list[Problem]) -> str:
    with session() as db:
        imports.fail(db, import_id, message, problems)
    return f"failed: {message}"


def _save_progress(import_id: str, counts: Counts) -> None:
    with session() as db:
        imports.progress(db, import_id, counts.operations, counts.converted)


@activity.defn(name=names.IMPORT_OPENAPI)
async def import_openapi(import_id: str) -> str:
    counts = Counts()
    work = asyncio.create_task(asyncio.to_thread(_import, import_id, counts))
    while not work.done():
        await asyncio.wait({work}, timeout=SAVE_EVERY)
        activity.heartbeat(counts.converted)
        if not work.done():
            await asyncio.to_thread(_save_progress, import_id, counts)
    return work.result()


@activity.defn(name=names.FAIL_IMPORT)
async def fail_import(import_id: str, cause: str) -> str:
    """Every try of the import failed: recorded as failed, with the last cause."""
    message = f"The import could not finish ({cause[:500]}); nothing was saved: import the document again."
    await asyncio.to_thread(_failed, import_id, message, [])
    return f"failed: {message}"
