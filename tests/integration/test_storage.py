"""Storage steps' key/value store: round trips, limits, and increments that each count however
many transactions and processes make them at once (SQLite and, where CI provides one, PostgreSQL).
And the variables that mappings read, resolved for a cycle."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store import storage, variables
from store.database import make_engine
from store.storage import StorageError

THREADS, TIMES = 8, 25


def test_put_get_delete_listing_and_purge(db):
    assert storage.get(db, "cycle-1", "seen") is None
    assert storage.put(db, "cycle-1", "seen", 3) == 3
    assert storage.put(db, "cycle-1", "ratio", 0.5) == 0.5
    assert storage.put(db, "cycle-1", "last", {"Email": "a@example.com", "Tags": ["x"]}) == \
        {"Email": "a@example.com", "Tags": ["x"]}
    storage.put(db, "account-1", "seen", "text")
    db.commit()
    assert storage.get(db, "cycle-1", "seen") == 3 and isinstance(storage.get(db, "cycle-1", "seen"), int)
    assert storage.listing(db, "cycle-1") == {"last": {"Email": "a@example.com", "Tags": ["x"]},
                                              "ratio": 0.5, "seen": 3}

    storage.put(db, "cycle-1", "seen", True)  # a number becomes JSON: True is not 1
    storage.delete(db, "cycle-1", "ratio")
    storage.delete(db, "cycle-1", "never-set")
    db.commit()
    assert storage.listing(db, "cycle-1") == {"last": {"Email": "a@example.com", "Tags": ["x"]}, "seen": True}

    storage.purge(db, "cycle-1")
    db.commit()
    assert storage.listing(db, "cycle-1") == {} and storage.listing(db, "account-1") == {"seen": "text"}


def test_key_and_value_limits(db):
    with pytest.raises(StorageError, match=r"^storage key 'x+…' is 200 characters; the limit is 128$"):
        storage.put(db, "s", "x" * 200, 1)
    storage.put(db, "s", "k" * storage.MAX_KEY, 1)
    with pytest.raises(StorageError, match=r"^the value for storage key 'hits' is 2048 bytes; the limit is 1024$"):
        storage.put(db, "s", "hits", "a" * 2046)  # with its quotes, 2,048 bytes of JSON
    with pytest.raises(StorageError, match="is 1202 bytes"):
        storage.put(db, "s", "hits", "é" * 600)  # 602 characters, but two bytes each
    storage.put(db, "s", "hits", "a" * (storage.MAX_VALUE - 2))
    with pytest.raises(StorageError, match="finite numbers only"):
        storage.put(db, "s", "hits", float("inf"))
    with pytest.raises(StorageError, match="cannot be stored as JSON"):
        storage.put(db, "s", "hits", {1, 2})


def test_increment_counts_from_zero_and_refuses_text(db):
    assert storage.increment(db, "s", "hits") == 1
    assert storage.increment(db, "s", "hits", 2.5) == 3.5
    result = storage.increment(db, "s", "hits", 0.5)
    assert result == 4 and isinstance(result, int)
    storage.put(db, "s", "name", "Ada")
    with pytest.raises(StorageError, match="^storage key 'name' holds text, not a number: it cannot be incremented$"):
        storage.increment(db, "s", "name")
    db.commit()
    assert storage.get(db, "s", "name") == "Ada" and storage.get(db, "s", "hits") == 4


def test_rollback_after_an_increment_leaves_the_value(db):
    storage.increment(db, "s", "hits")
    db.commit()
    assert storage.increment(db, "s", "hits") == 2
    db.rollback()  # the step's outcome failed to save: its increment goes with it
    assert storage.get(db, "s", "hits") == 1


def _increment(engine: Engine, key: str, times: int) -> None:
    for _ in range(times):
        with Session(engine) as session:
            storage.increment(session, "s", key)
            session.commit()


def test_concurrent_increments_in_threads_each_count(engine):
    threads = [threading.Thread(target=_increment, args=(engine, "hits", TIMES)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        assert storage.get(session, "s", "hits") == THREADS * TIMES


def _increment_in_process(url: str, start: multiprocessing.synchronize.Barrier, times: int) -> None:
    engine = make_engine(url)
    start.wait()  # both processes increment at the same time, not one after the other
    _increment(engine, "hits", times)


def test_concurrent_increments_in_processes_each_count(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    make_engine(url)  # the tables exist before the processes race to make them
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    processes = [context.Process(target=_increment_in_process, args=(url, start, 100)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    with Session(make_engine(url)) as session:
        assert storage.get(session, "s", "hits") == 200


def test_cycle_variables_override_the_accounts(db):
    variables.put(db, "account-1", "Region", "Global")
    variables.put(db, "account-1", "Owner", "ops")
    variables.put(db, "cycle-1", "Region", "EU")
    variables.put(db, "cycle-1", "Region", "UK")  # setting again replaces it
    assert variables.resolve(db, "cycle-1", "account-1") == {"Owner": "ops", "Region": "UK"}
    assert variables.delete(db, "cycle-1", "Region") and not variables.delete(db, "cycle-1", "Region")
    assert variables.resolve(db, "cycle-1", "account-1") == {"Owner": "ops", "Region": "Global"}
