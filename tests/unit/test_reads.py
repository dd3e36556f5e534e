"""Short reads (store/reads.py): on the event loop from a local SQLite file, a read with a key
kept only until anything is committed (here or by another process); a read that cannot be
done at once goes to a thread."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading

from sqlmodel import Session

from store import reads
from store.database import engine, session
from store.tables import Account


def named(account_id: str):
    """A read of the account's name, counting the times it is made, and on which thread."""
    made: list[tuple[bool, bool]] = []

    def read(db: Session, at_once: bool) -> str:
        made.append((at_once, threading.current_thread() is threading.main_thread()))
        return db.get(Account, account_id).name

    return read, made


def renamed(account_id: str, name: str) -> None:
    with session() as db:
        db.get(Account, account_id).name = name
        db.commit()


async def test_a_kept_read_is_made_again_once_anything_is_committed_here_or_elsewhere():
    with session() as db:
        account = Account(name="before")
        db.add(account)
        db.commit()
    read, made = named(account.id)
    key = ("name", account.id)
    assert [await reads.short_read(read, key) for _ in range(3)] == ["before"] * 3
    assert made == [(True, True)]  # once, on the loop (the tests' loop runs on the main thread)

    renamed(account.id, "after")  # another connection of this process
    assert await reads.short_read(read, key) == "after" and len(made) == 2

    database = engine().url.database
    script = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
              "db.execute('UPDATE account SET name = ? WHERE id = ?', ('elsewhere', sys.argv[2])); db.commit()")
    await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script, database, account.id],
                            check=True)  # another process
    assert await reads.short_read(read, key) == "elsewhere" and len(made) == 3
    assert await reads.short_read(read) == "elsewhere" and len(made) == 4  # no key: never kept
    assert sqlite3.connect(database).execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_read_that_cannot_be_done_at_once_is_made_in_a_thread():
    with session() as db:
        account = Account(name="slow")
        db.add(account)
        db.commit()
    made: list[bool] = []

    def read(db: Session, at_once: bool) -> str:
        made.append(at_once)
        if at_once:
            raise reads.Slow("a document to parse, say")
        return db.get(Account, account.id).name

    assert await reads.short_read(read, ("slow", account.id)) == "slow"
    assert made == [True, False]
