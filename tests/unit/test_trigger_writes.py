"""The trigger's page writes: reading goes on while a write is under way, the pages read
meanwhile go together in the next write, and reading waits once it is PAGES_AHEAD pages ahead."""

from __future__ import annotations

import asyncio
import threading

import pytest

from activities import trigger
from store.transactions import RunRef


async def test_pages_read_during_a_write_go_together_in_the_next_one(monkeypatch):
    written: list[tuple[int, int]] = []
    first_started, finish_first = threading.Event(), threading.Event()

    def write(run, first, step, next_step, records, after):
        written.append((first, len(records)))
        if len(written) == 1:
            first_started.set()
            finish_first.wait(10)
        return after

    monkeypatch.setattr(trigger, "_write", write)
    writes = trigger._Writes(RunRef("run", "cycle", "account"), "read", None)
    writes.add(1, [{}] * 10, {"count": 10})
    writes.start()
    await asyncio.to_thread(first_started.wait, 10)  # the first page's write is under way…
    for page in range(1, trigger.PAGES_AHEAD + 1):  # …while more pages are read
        assert not writes.due()  # reading goes on
        writes.add(1 + 10 * page, [{}] * 10, {"count": 10 * (page + 1)})
        writes.start()  # nothing starts while a write is under way
    assert written == [(1, 10)] and writes.due()  # PAGES_AHEAD pages ahead: reading waits now
    finish_first.set()
    progress = [p["count"] async for p in writes.drain()]
    assert written == [(1, 10), (11, 10 * trigger.PAGES_AHEAD)]  # the pages read meanwhile: one write
    assert progress == [10, 10 * (trigger.PAGES_AHEAD + 1)]  # progress only as far as committed


async def test_a_failed_write_is_seen_by_whoever_waits_for_it(monkeypatch):
    def write(*_):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(trigger, "_write", write)
    writes = trigger._Writes(RunRef("run", "cycle", "account"), "read", None)
    writes.add(1, [{}], {"count": 1})
    writes.start()
    with pytest.raises(RuntimeError, match="locked"):
        [p async for p in writes.drain()]
