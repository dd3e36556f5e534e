"""The key/value store of template Storage steps, scoped to a cycle or an account.

Nothing here commits: the caller commits a step's storage operation together with the
transaction's outcome, so the two happen, or roll back, as one.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from connectors.scripts import ScriptHostError
from store.database import session
from store.tables import StorageItem, utcnow

TABLE = StorageItem.__table__
MAX_KEY = 128  # characters
MAX_VALUE = 1024  # bytes: the UTF-8 of the value's JSON
_DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}


class StorageError(ValueError):
    """A key or value the store refuses; the message names the key and the limit."""


def get(db: Session, scope_id: str, key: str) -> Any | None:
    row = db.execute(select(TABLE.c.number, TABLE.c.text)
                     .where(TABLE.c.scope_id == scope_id, TABLE.c.key == _checked(key))).first()
    return None if row is None else _value(*row)


def put(db: Session, scope_id: str, key: str, value: Any) -> Any:
    """Store `value` (a number, or anything JSON can encode); the value as `get` reads it back."""
    number, text = _encoded(_checked(key), value)
    insert = _insert(db)
    db.execute(insert.values(scope_id=scope_id, key=key, number=number, text=text, updated_at=utcnow())
               .on_conflict_do_update(index_elements=["scope_id", "key"],
                                      set_={c: insert.excluded[c] for c in ("number", "text", "updated_at")}))
    return _value(number, text)


def increment(db: Session, scope_id: str, key: str, by: float = 1) -> int | float:
    """Add `by` to the number at `key` (absent: 0) in one statement, so concurrent increments,
    in any transaction or process, each count."""
    by = _number(_checked(key), by)
    insert = _insert(db)
    statement = (insert.values(scope_id=scope_id, key=key, number=by, text=None, updated_at=utcnow())
                 .on_conflict_do_update(index_elements=["scope_id", "key"],
                                        set_={"number": TABLE.c.number + insert.excluded.number,
                                              "updated_at": insert.excluded.updated_at},
                                        where=TABLE.c.text.is_(None))
                 .returning(TABLE.c.number))
    number = db.execute(statement).scalar()
    if number is None:  # the conflicting row holds text, so the update's WHERE left it alone
        raise StorageError(f"storage key {_shown(key)} holds text, not a number: it cannot be incremented")
    return _value(number, None)


def delete(db: Session, scope_id: str, key: str) -> None:
    db.execute(TABLE.delete().where(TABLE.c.scope_id == scope_id, TABLE.c.key == _checked(key)))


def listing(db: Session, scope_id: str) -> dict[str, Any]:
    rows = db.execute(select(TABLE.c.key, TABLE.c.number, TABLE.c.text)
                      .where(TABLE.c.scope_id == scope_id).order_by(TABLE.c.key))
    return {key: _value(number, text) for key, number, text in rows}


def purge(db: Session, scope_id: str) -> None:
    """Everything stored in the scope (a cycle or an account that is going away)."""
    db.execute(TABLE.delete().where(TABLE.c.scope_id == scope_id))


def _insert(db: Session) -> Any:
    return _DIALECTS[db.get_bind().dialect.name].insert(TABLE)


def _shown(key: str) -> str:
    return repr(key if len(key) <= 40 else key[:40] + "…")


def _checked(key: str) -> str:
    if len(key) > MAX_KEY:
        raise StorageError(f"storage key {_shown(key)} is {len(key)} characters; the limit is {MAX_KEY}")
    return key


def _encoded(key: str, value: Any) -> tuple[float | None, str | None]:
    """(number, None) for a number, (None, JSON) for anything else."""
    if _is_number(value):
        return _number(key, value), None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise StorageError(f"the value for storage key {_shown(key)} cannot be stored as JSON: {err}") from None
    size = len(text.encode())
    if size > MAX_VALUE:
        raise StorageError(f"the value for storage key {_shown(key)} is {size} bytes; the limit is {MAX_VALUE}")
    return None, text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)  # True is JSON, not 1


def _number(key: str, value: Any) -> float:
    try:
        number = float(value) if _is_number(value) else math.nan
    except OverflowError:  # an int beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise StorageError(f"storage key {_shown(key)} takes finite numbers only")
    return number


def _value(number: float | None, text: str | None) -> Any:
    if text is not None:
        return json.loads(text)
    if number is None:
        return None
    number = float(number)  # SQLite's RETURNING may give an int
    return int(number) if number.is_integer() else number


class CycleStorage:
    """A cycle's Storage as its scripts reach it (cycle_storage_*): each call commits at once."""

    def __init__(self, cycle_id: str) -> None:
        self.cycle_id = cycle_id

    async def get(self, key: str) -> Any:
        return await self._do(get, key)

    async def set(self, key: str, value: Any) -> None:
        await self._do(put, key, value)

    async def delete(self, key: str) -> None:
        await self._do(delete, key)

    async def _do(self, operation: Callable[..., Any], *args: Any) -> Any:
        def work() -> Any:
            with session() as db:
                result = operation(db, self.cycle_id, *args)
                db.commit()
                return result

        try:
            return await asyncio.to_thread(work)
        except StorageError as err:
            raise ScriptHostError(str(err)) from None
