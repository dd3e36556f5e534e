"""The transaction store: every record of a run, one row per transaction (DESIGN §4).

The trigger writes each page's records with sequence numbers fixed by the page, so a
retried fetch rewrites the same rows. A step reads a range of sequence numbers and writes
each outcome only if the transaction still waits at that step, so a retried step resends
nothing whose outcome was written and a stopped run's transactions stay stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from store import partner_events
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


def write_page(db: Session, run: RunRef, first: int, trigger: str, next_step: str | None,
               records: Sequence[dict[str, Any]]) -> None:
    """Records `first`, `first + 1`, … of the run, each a transaction waiting at `next_step`
    (or already a Success when the trigger is the only step). Rewrites rows of an earlier try."""
    now = utcnow()
    path, status, step = ([trigger, next_step], "Pending", next_step) if next_step else ([trigger], "Success", trigger)
    rows = [{"id": new_id(), "run_id": run.run_id, "cycle_id": run.cycle_id, "account_id": run.account_id,
             "seq": first + i, "status": status, "step": step, "path": path, "records": {trigger: record},
             "message": None, "exchange": None, "retries": 0, "created_at": now, "updated_at": now}
            for i, record in enumerate(records)]
    if rows:
        db.execute(_UPSERT[db.get_bind().dialect.name], rows)  # one statement, many rows
    db.commit()


def _upsert(dialect) -> Any:
    statement = dialect.insert(TABLE)
    kept = {"id", "run_id", "seq", "created_at"}
    return statement.on_conflict_do_update(
        index_elements=["run_id", "seq"],
        set_={c.name: statement.excluded[c.name] for c in TABLE.columns if c.name not in kept},
    )


_UPSERT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}


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


def read_range(db: Session, run_id: str, first: int, end: int) -> list[Waiting]:
    """Transactions `first` ≤ seq < `end` of the run, in order."""
    columns = (TABLE.c.seq, TABLE.c.status, TABLE.c.step, TABLE.c.path, TABLE.c.records, TABLE.c.retries)
    query = select(*columns).where(TABLE.c.run_id == run_id, TABLE.c.seq >= first, TABLE.c.seq < end)
    return [Waiting(*row) for row in db.execute(query.order_by(TABLE.c.seq))]


_SAVE = (
    update(TABLE)
    .where(TABLE.c.run_id == bindparam("_run"), TABLE.c.seq == bindparam("_seq"),
           TABLE.c.status == "Pending", TABLE.c.step == bindparam("_at"))
    # An outcome without a message keeps the one before: an error OnError Ignore went past stays recorded.
    .values(status=bindparam("status"), step=bindparam("step"), path=bindparam("path"),
            records=bindparam("records"), message=func.coalesce(bindparam("message"), TABLE.c.message),
            exchange=bindparam("exchange"), updated_at=bindparam("updated_at"))
)


def _row(outcome: Outcome, now: datetime) -> dict[str, Any]:
    o = outcome
    return {"_run": o.run_id, "_seq": o.seq, "_at": o.at, "status": o.status, "step": o.step, "path": o.path,
            "records": o.records, "message": o.message, "exchange": o.exchange, "updated_at": now}


# An errored outcome is saved on its own, and the partner's backend told in the same commit.
_SAVE_ERRORED = _SAVE.returning(TABLE.c.id, TABLE.c.run_id, TABLE.c.cycle_id, TABLE.c.account_id, TABLE.c.seq,
                                TABLE.c.step)


def save_outcome(db: Session, outcome: Outcome) -> bool:
    """One outcome, uncommitted (the caller commits it with its own writes); False when its
    transaction no longer waits at that step."""
    if outcome.status == "Errored":
        return _save_errored(db, Outbox(db), outcome, utcnow())
    return db.execute(_SAVE, _row(outcome, utcnow())).rowcount == 1


def save_outcomes(db: Session | Connection, outcomes: Sequence[Outcome]) -> None:
    """Outcomes (of any runs and steps), each applied only if its transaction still waits at
    the step that made it; a `transaction.errored` event for each errored one applied."""
    now = utcnow()
    if others := [_row(o, now) for o in outcomes if o.status != "Errored"]:
        db.execute(_SAVE, others)
    outbox = Outbox(db)
    for outcome in outcomes:
        if outcome.status == "Errored":
            _save_errored(db, outbox, outcome, now)
    db.commit()


def _save_errored(db: Session | Connection, outbox: Outbox, outcome: Outcome, now: datetime) -> bool:
    saved = db.execute(_SAVE_ERRORED, _row(outcome, now)).first()
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



