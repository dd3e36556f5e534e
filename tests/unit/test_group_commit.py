"""Group commit: callers return only once their item is written; those that arrive during a
commit share the next one; a failed commit fails exactly the callers whose items it held."""

from __future__ import annotations

import asyncio
import threading

import pytest

from store.group_commit import GroupCommit


async def test_concurrent_items_share_commits_and_each_caller_waits_for_its_own():
    commits: list[list[int]] = []
    first_commit_started, let_it_finish = threading.Event(), threading.Event()

    def write(items):
        if not commits:
            first_commit_started.set()
            let_it_finish.wait(10)
        commits.append(list(items))

    group = GroupCommit(write)
    first = asyncio.create_task(group.add(0))
    await asyncio.to_thread(first_commit_started.wait, 10)  # a commit is under way…
    rest = [asyncio.create_task(group.add(i)) for i in range(1, 6)]  # …and five more arrive
    await asyncio.sleep(0)
    assert not any(t.done() for t in [first, *rest])  # nobody returns before their commit
    let_it_finish.set()
    await asyncio.gather(first, *rest)
    assert commits == [[0], [1, 2, 3, 4, 5]]


async def test_a_failed_commit_fails_its_callers_and_the_next_one_goes_on():
    calls = 0

    def write(items):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database is locked")

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="locked"):
        await group.add("a")
    await group.add("b")
    assert calls == 2


async def test_inline_writes_at_once_on_the_loop():
    written: list[str] = []
    group = GroupCommit(written.extend, inline=True)
    await group.add("x")
    assert written == ["x"]


async def test_inline_items_that_arrive_together_share_one_write():
    commits: list[list[int]] = []
    group = GroupCommit(lambda items: commits.append(list(items)), inline=True)
    await asyncio.gather(*(group.add(i) for i in range(5)))
    await group.add(5)
    assert commits == [[0, 1, 2, 3, 4], [5]]
