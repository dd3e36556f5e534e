"""The transaction store: every record of a run, one row per transaction (DESIGN §4).

The trigger writes each page's records with sequence numbers fixed by the page, so a
retried fetch rewrites the same rows. A step reads a range of sequence numbers and writes
each outcome only if the transaction still waits at that step, so a retried step resends
nothing whose outcome was written and a stopped run's transactions stay stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from uuid_utils import uuid7

from store import partner_events
from store.jsontext import dumps, loads
from store.partner_events import Outbox
from store.tables import Cycle, Run, Transaction, new_id, utcnow

TABLE = Transaction.__table__


@dataclass(frozen=True)
class RunRef:
    run_id: str
    cycle_id: str
    account_id: str


@dataclass(frozen=True)
class Waiting:
    """A transaction as a step reads it."""

    seq: int
    status: str
    step: str
    path: list[str]
    records: dict[str, Any]
    retries: int


@dataclass(frozen=True)
class Outcome:
    """What step `at` made of transaction `seq` of a run: where it goes next (Pending) or how
    it ended."""

    run_id: str
    seq: int
    at: str
    status: str
    step: str
    path: list[str]
    records: dict[str, Any]
    message: str | None = None
    exchange: dict[str, Any] | None = None


def write_page(db: Connection, run: RunRef, first: int, trigger: str, next_step: str | None,
               records: Sequence[dict[str, Any]]) -> None:
    """Records `first`, `first + 1`, … of the run, each a transaction waiting at `next_step`
    (or already a Success when the trigger is the only step), in one statement on the driver
    (no per-row work but each record's JSON), uncommitted. Rewrites rows of an earlier try."""
    if not records:
        return
    path, status, step = ([trigger, next_step], "Pending", next_step) if next_step else ([trigger], "Success", trigger)
    now, path = _timestamp(db, utcnow()), dumps(path)
    if db.dialect.name == "sqlite":
        # Records as JSON parameters, made into rows by SQLite: a thread writing them waits for the
        # GIL once a statement, not once a row (each time up to 5 ms while the event loop is busy).
        # A few hundred a statement: a cached statement keeps its last parameters until it runs again.
        for start in range(0, len(records), ROWS_A_STATEMENT):
            rows = dumps([[str(uuid7()), record] for record in records[start:start + ROWS_A_STATEMENT]])
            db.exec_driver_sql(_UPSERT_PAGE, (run.run_id, run.cycle_id, run.account_id, first + start, status, step,
                                              path, trigger, now, rows))
        return
    rows = [(str(uuid7()), run.run_id, run.cycle_id, run.account_id, first + i, status, step, path,
             dumps({trigger: record}), now, now) for i, record in enumerate(records)]
    db.exec_driver_sql(_statement(db, _UPSERT), rows)


ROWS_A_STATEMENT = 250
_WRITTEN = ("id", "run_id", "cycle_id", "account_id", "seq", "status", "step", "path", "records",
            "created_at", "updated_at")
# A rewrite keeps the row's id and creation time, and clears what a later step made of it.
_UPSERT = (
    f'INSERT INTO "transaction" ({", ".join(_WRITTEN)}, retries) VALUES ({", ".join("?" * len(_WRITTEN))}, 0) '
    "ON CONFLICT (run_id, seq) DO UPDATE SET status = excluded.status, step = excluded.step, "
    "path = excluded.path, records = excluded.records, message = NULL, exchange = NULL, retries = 0, "
    "updated_at = excluded.updated_at"
)


# SQLite: the same rows from a JSON array of [id, record] pairs (`WHERE true`: SQLite's parser
# needs it before an upsert's ON CONFLICT when the rows come from a SELECT).
_UPSERT_PAGE = (
    f'INSERT INTO "transaction" ({", ".join(_WRITTEN)}, retries) '
    "SELECT json_extract(value, '$[0]'), ?1, ?2, ?3, ?4 + key, ?5, ?6, ?7, json_object(?8, json_extract(value, '$[1]')), "
    "?9, ?9, 0 FROM json_each(?10) WHERE true " + _UPSERT[_UPSERT.index("ON CONFLICT"):]
)


def _statement(db: Connection, sql: str) -> str:
    """`sql` (written with ? placeholders) in the driver's own placeholders."""
    return sql if db.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def _timestamp(db: Connection, when: datetime) -> Any:
    """A time as the driver takes it for a timestamp column (SQLite: SQLAlchemy's text form)."""
    process = _time_processor(db.dialect)
    return process(when) if process else when


@cache
def _time_processor(dialect: Dialect) -> Callable[[datetime], Any] | None:
    return TABLE.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)


def drop_after(db: Session, run_id: str, last: int) -> None:
    """Rows past the trigger's last record: written by a try that read more than the final one."""
    db.execute(delete(TABLE).where(TABLE.c.run_id == run_id, TABLE.c.seq > last))
    db.commit()


def collect(db: Session, run_id: str, trigger: str, next_step: str | None) -> None:
    """The run's transactions 1… (one record each, as the trigger wrote them) become transaction
    0 holding the list of their records, in one commit; done once, however often it is asked."""
    if db.execute(select(TABLE.c.seq).where(TABLE.c.run_id == run_id, TABLE.c.seq == 0)).first():
        return
    rows = db.execute(select(TABLE.c.records).where(TABLE.c.run_id == run_id, TABLE.c.seq > 0).order_by(TABLE.c.seq)).all()
    run = db.get(Run, run_id)
    account = db.get(Cycle, run.cycle_id).account_id
    path, status, step = ([trigger, next_step], "Pending", next_step) if next_step else ([trigger], "Success", trigger)
    now = utcnow()
    db.execute(delete(TABLE).where(TABLE.c.run_id == run_id, TABLE.c.seq > 0))
    db.execute(TABLE.insert().values(
        id=new_id(), run_id=run_id, cycle_id=run.cycle_id, account_id=account, seq=0, status=status, step=step,
        path=path, records={trigger: [r.records[trigger] for r in rows]}, retries=0, created_at=now, updated_at=now))
    db.commit()


def read_range(db: Session | Connection, run_id: str, first: int, end: int) -> list[Waiting]:
    """Transactions `first` ≤ seq < `end` of the run, in order."""
    connection = db.connection() if isinstance(db, Session) else db
    if connection.dialect.name == "sqlite":  # one JSON text: the GIL waited for once (write_page)
        try:
            found = connection.exec_driver_sql(_RANGE, (run_id, first, end)).scalar()
        except OperationalError:  # a NaN, as the standard library once wrote it: not JSON to SQLite
            pass
        else:
            return sorted((Waiting(*row) for row in loads(found)), key=lambda w: w.seq)
    columns = (TABLE.c.seq, TABLE.c.status, TABLE.c.step, TABLE.c.path, TABLE.c.records, TABLE.c.retries)
    query = select(*columns).where(TABLE.c.run_id == run_id, TABLE.c.seq >= first, TABLE.c.seq < end)
    return [Waiting(*row) for row in db.execute(query.order_by(TABLE.c.seq))]


_RANGE = ("SELECT json_group_array(json_array(seq, status, step, json(path), json(records), retries)) "
          'FROM "transaction" WHERE run_id = ? AND seq >= ? AND seq < ?')


# Applied only if the transaction still waits at the step that made the outcome. An outcome
# without a message keeps the one before: an error OnError Ignore went past stays recorded.
_SAVE = (
    'UPDATE "transaction" SET status = ?, step = ?, path = ?, records = ?, message = coalesce(?, message), '
    "exchange = ?, updated_at = ? WHERE run_id = ? AND seq = ? AND status = 'Pending' AND step = ?"
)


def _row(outcome: Outcome, now: Any) -> tuple[Any, ...]:
    o = outcome
    return (o.status, o.step, dumps(o.path), dumps(o.records), o.message,
            None if o.exchange is None else dumps(o.exchange), now, o.run_id, o.seq, o.at)


# An errored outcome is saved on its own, and the partner's backend told in the same commit.
_SAVE_ERRORED = f"{_SAVE} RETURNING id, run_id, cycle_id, account_id, seq, step"


def save_outcome(db: Session, outcome: Outcome) -> bool:
    """One outcome, uncommitted (the caller commits it with its own writes); False when its
    transaction no longer waits at that step."""
    connection = db.connection()
    now = _timestamp(connection, utcnow())
    if outcome.status == "Errored" and partner_events.wanted(connection, "transaction.errored"):
        return _save_errored(connection, Outbox(connection), outcome, now)
    return connection.exec_driver_sql(_statement(connection, _SAVE), _row(outcome, now)).rowcount == 1


def save_outcomes(db: Connection, outcomes: Sequence[Outcome]) -> None:
    """Outcomes (of any runs and steps) in one statement on the driver, uncommitted; each
    applied only if its transaction still waits at the step that made it. While an endpoint
    takes `transaction.errored` events, errored ones are saved one by one, each with its event
    (store/partner_events.py)."""
    now = _timestamp(db, utcnow())
    one_by_one = any(o.status == "Errored" for o in outcomes) and partner_events.wanted(db, "transaction.errored")
    if bulk := [_row(o, now) for o in outcomes if not (one_by_one and o.status == "Errored")]:
        db.exec_driver_sql(_statement(db, _SAVE), bulk)
    if one_by_one:
        outbox = Outbox(db)
        for outcome in outcomes:
            if outcome.status == "Errored":
                _save_errored(db, outbox, outcome, now)


def _save_errored(db: Connection, outbox: Outbox, outcome: Outcome, now: Any) -> bool:
    saved = db.exec_driver_sql(_statement(db, _SAVE_ERRORED), _row(outcome, now)).first()
    if saved is not None:
        partner_events.transaction_errored(outbox, saved)
    return saved is not None


def finish_pending(db: Session, run_id: str, status: str, message: str) -> None:
    """A run that ends leaves nothing Pending: what it did not reach is Errored or Stopped."""
    db.execute(update(TABLE).where(TABLE.c.run_id == run_id, TABLE.c.status == "Pending")
               .values(status=status, message=message, updated_at=utcnow()))


def counts(db: Session, run_id: str) -> Counter[str]:
    query = select(TABLE.c.status, func.count()).where(TABLE.c.run_id == run_id).group_by(TABLE.c.status)
    return Counter(dict(db.execute(query).all()))


def recount(db: Session, run_id: str) -> Run:
    """A run's totals from its transactions (after it ends, or after one of them is retried),
    committed with whatever the caller changed so no reader sees a status without its counts."""
    run = db.get(Run, run_id)
    found = counts(db, run_id)
    run.succeeded, run.errored, run.stopped = found["Success"], found["Errored"], found["Stopped"]
    db.commit()
    return run


def reopen(db: Session, transaction: Transaction) -> Transaction:
    """An errored or stopped transaction set to wait again at the step where it ended."""
    transaction.path = transaction.path[: transaction.path.index(transaction.step) + 1]
    transaction.status, transaction.message, transaction.exchange = "Pending", None, None
    transaction.retries += 1
    transaction.updated_at = utcnow()
    db.add(transaction)
    db.commit()
    return transaction


def listing(cycle_id: str, *, status: str | None = None, run_id: str | None = None,
            before: datetime | None = None, after: datetime | None = None):
    """The query behind the transactions list, newest first."""
    query = select(Transaction).where(Transaction.cycle_id == cycle_id)
    if status:
        query = query.where(Transaction.status == status)
    if run_id:
        query = query.where(Transaction.run_id == run_id)
    if before:
        query = query.where(Transaction.created_at < before)
    if after:
        query = query.where(Transaction.created_at > after)
    return query.order_by(Transaction.created_at.desc(), Transaction.seq.desc())



