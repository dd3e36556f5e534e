"""Group commit on a local SQLite file: a group is written on the loop only when the write lock
is free at once; when another writer holds it, the group waits for it in a thread, and the
connection that never waits never goes back into the pool."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy.engine import Connection

from store import group_commit
from store.group_commit import Busy, GroupCommit


def _insert(connection: Connection, items) -> None:
    connection.exec_driver_sql("INSERT INTO probe (x) VALUES (?)", [(i,) for i in items])


async def test_a_held_write_lock_sends_the_group_to_a_thread(engine, database_url, monkeypatch):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
    monkeypatch.setattr(group_commit, "engine", lambda: engine)
    monkeypatch.setattr(group_commit, "is_local_database", lambda: True)
    group: GroupCommit[int] = GroupCommit.of(_insert)
    paths: list[str] = []
    first, write = group.first, group.write

    def on_loop(items):
        try:
            first(items)
        except Busy:
            paths.append("busy")
            raise
        paths.append("loop")

    def in_thread(items):
        paths.append("thread")
        write(items)

    group.first, group.write = on_loop, in_thread
    await group.add(1)  # the lock free: written on the loop
    assert paths == ["loop"]
    assert first.connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 0

    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    adding = asyncio.create_task(group.add(2))
    while "thread" not in paths:  # the loop stays free while the group waits in its thread
        await asyncio.sleep(0)
    assert paths == ["loop", "busy", "thread"] and not adding.done()
    holder.execute("COMMIT")
    await adding
    holder.close()
    with engine.connect() as connection:
        assert [x for (x,) in connection.exec_driver_sql("SELECT x FROM probe ORDER BY x")] == [1, 2]
        # the connection that failed with Busy was dropped, not pooled: a pooled one waits
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    assert first.connection is None
