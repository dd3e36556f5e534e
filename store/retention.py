"""Retention: runs, their transactions and their plans are deleted once older than the
account's retention period (DESIGN §4), and events for the partner's backend once older than the
default period (they hold ids and reasons, no records). A Temporal Schedule calls `purge` every hour.

Everything is deleted in small batches, each its own commit, so a purge of a run with
hundreds of thousands of transactions never holds a long write lock (SQLite has one for the
whole database) and an interrupted purge simply carries on at the next call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, Table, delete, exists, select
from sqlmodel import Session

from store import event_deliveries
from store.tables import Account, Cycle, Plan, Run, Transaction

ACCOUNT, CYCLE, PLAN, RUN, TRANSACTION = (t.__table__ for t in (Account, Cycle, Plan, Run, Transaction))
ROWS_PER_DELETE = 5_000  # transactions per statement and commit
RUNS_PER_BATCH = 100
PLANS_PER_DELETE = 1_000


@dataclass
class PurgeResult:
    runs: int = 0
    transactions: int = 0
    plans: int = 0
    events: int = 0


def purge(db: Session, now: datetime, default_days: float) -> PurgeResult:
    """Delete what every account keeps no longer: finished runs that ended before its cutoff
    (`now` minus its `retention_days`, or `default_days`), their transactions, and plans made
    before the cutoff that no run uses (those of purged runs and of transaction retries).

    `now` is in UTC, as every stored time is."""
    result = PurgeResult()
    for days in _retention_periods(db):
        cutoff = now - timedelta(days=default_days if days is None else days)
        cycles = _cycles_keeping(days)
        _purge_runs(db, cycles, cutoff, result)
        result.plans += _purge_plans(db, cycles, cutoff)
    result.events = event_deliveries.purge(db, now - timedelta(days=default_days))
    return result


def _retention_periods(db: Session) -> list[float | None]:
    """The accounts' distinct retention periods (None: the default): one pass per period
    rather than per account, since most accounts share the default."""
    return list(db.execute(select(ACCOUNT.c.retention_days).distinct()).scalars())


def _cycles_keeping(days: float | None) -> Select:
    """The ids of the cycles whose account keeps runs for `days`."""
    same = ACCOUNT.c.retention_days.is_(None) if days is None else ACCOUNT.c.retention_days == days
    return select(CYCLE.c.id).join(ACCOUNT, ACCOUNT.c.id == CYCLE.c.account_id).where(same)


def _expired_runs(cycles: Select, cutoff: datetime) -> Select:
    # A finished run with a Pending transaction has a retry in progress: it waits for the next purge.
    retrying = exists().where(TRANSACTION.c.cycle_id == RUN.c.cycle_id, TRANSACTION.c.status == "Pending",
                              TRANSACTION.c.run_id == RUN.c.id)
    return select(RUN.c.id).where(
        RUN.c.cycle_id.in_(cycles), RUN.c.finished_at.is_not(None), RUN.c.finished_at < cutoff,
        RUN.c.status != "Running", ~retrying,
    ).limit(RUNS_PER_BATCH)


def _purge_runs(db: Session, cycles: Select, cutoff: datetime, result: PurgeResult) -> None:
    while run_ids := list(db.execute(_expired_runs(cycles, cutoff)).scalars()):
        for run_id in run_ids:
            result.transactions += _delete_batches(db, TRANSACTION, TRANSACTION.c.run_id == run_id,
                                                   ROWS_PER_DELETE)
        result.runs += db.execute(delete(RUN).where(RUN.c.id.in_(run_ids))).rowcount
        db.commit()


def _purge_plans(db: Session, cycles: Select, cutoff: datetime) -> int:
    # A run's plan is written in the same commit as the run, so an unused plan is never one a
    # run is about to use; a plan made before the cutoff belongs to a purged run or an old retry.
    used = exists().where(RUN.c.plan_id == PLAN.c.id)
    expired = PLAN.c.cycle_id.in_(cycles) & (PLAN.c.created_at < cutoff) & ~used
    return _delete_batches(db, PLAN, expired, PLANS_PER_DELETE)


def _delete_batches(db: Session, table: Table, where: ColumnElement[bool], size: int) -> int:
    """Delete the rows of `table` matching `where`, `size` at a time, committing each batch."""
    deleted = 0
    while True:
        batch = select(table.c.id).where(where).limit(size)
        count = db.execute(delete(table).where(table.c.id.in_(batch))).rowcount
        db.commit()
        deleted += count
        if count < size:
            return deleted
