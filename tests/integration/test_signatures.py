"""Webhook signatures are taken once within their window, by however many writers race for one,
and forgotten once their window has closed."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select, text

from runtime.settings import settings
from store import signatures
from store.signatures import TABLE, Signature


def _count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(TABLE)).scalar_one()


def test_a_signature_is_taken_once(engine):
    now = int(time.time())
    first, second = Signature("step-1", "aa" * 32, now), Signature("step-1", "bb" * 32, now)
    elsewhere = Signature("step-2", "aa" * 32, now)  # the same value at another step is another signature
    with engine.connect() as connection:
        assert signatures.take(connection, [first, second, first, elsewhere]) == [True, True, False, True]
        connection.commit()
        assert signatures.take(connection, [second]) == [False]
        connection.rollback()
        assert signatures.take(connection, []) == []
    assert _count(engine) == 3


def test_writers_racing_for_one_signature_take_it_once(engine):
    """The second writer's insert meets the first's uncommitted row: it waits for the commit,
    then finds the signature taken (PostgreSQL shows it waiting on the row's lock)."""
    signature = Signature("step-1", "cc" * 32, int(time.time()))
    first = engine.connect()
    assert signatures.take(first, [signature]) == [True]  # not yet committed
    results: list[list[bool]] = []

    def second() -> None:
        with engine.connect() as connection:
            results.append(signatures.take(connection, [signature]))
            connection.commit()

    racing = threading.Thread(target=second)
    racing.start()
    if engine.dialect.name == "postgresql":
        _wait_for_lock_wait(engine)
    first.commit()
    first.close()
    racing.join(timeout=60)
    assert results == [[False]]
    assert _count(engine) == 1


def _wait_for_lock_wait(engine) -> None:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
    deadline = time.monotonic() + 30
    with engine.connect() as watcher:
        while watcher.execute(query).scalar_one() == 0:
            assert time.monotonic() < deadline, "the second writer never waited for the first"
            watcher.rollback()  # a fresh snapshot of the activity view


def test_signatures_past_their_window_are_purged(engine, monkeypatch):
    now, window = int(time.time()), settings().webhook_tolerance
    closed, open_ = Signature("step-1", "dd" * 32, int(now - window - 1)), Signature("step-1", "ee" * 32, now)
    with engine.connect() as connection:
        assert signatures.take(connection, [closed, open_]) == [True, True]
        connection.commit()
        assert signatures.purge(connection, now - window) == 1
        connection.commit()
    assert _count(engine) == 1

    # Taking signatures purges too, once every PURGE_EVERY seconds, in the same transaction.
    with engine.connect() as connection:
        signatures.take(connection, [Signature("step-1", "ff" * 32, int(now - window - 1))])
        connection.commit()
    monkeypatch.setattr(signatures, "_purged_at", time.monotonic() - signatures.PURGE_EVERY)
    with engine.connect() as connection:
        assert signatures.take(connection, [Signature("step-1", "01" * 32, now)]) == [True]
        connection.commit()
    assert _count(engine) == 2  # the open one and the new one: the closed one is gone
