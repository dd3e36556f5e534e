"""What the rate-limit tests measure, so that they hold however busy the machine is.

The shared limiter (store/limiter.py) promises that no bucket is granted more than a limit's
MaxRequests permits within any span of its time frame, nor even within `window(limit)` (the
time frame and a slack), counted when each permit is granted, whichever worker asks. The tests
check that promise on the limiter's own record: a trigger copies
each row the limiter writes into a table of the test's (the limiter deletes its rows once they
leave the window). When the requests then reach the upstream depends on how fast each worker
gets from its permit to the network, which a loaded machine stretches without bound; so the
upstream's log is checked only for what holds regardless: one request per permit, each after it.

And the tests show their premise, that every worker made calls, from the workflows' histories:
which worker completed each activity of a step, over which time, for how many calls.
"""

from __future__ import annotations

import socket
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from runtime.settings import TASK_QUEUE
from store.tables import RateCall
from tests.conftest import Process
from tests.templating import histories
from workflows import names
from workflows.messages import RangeRequest, RangeResult

GRANTS = "test_rate_grants"
_COPY = f"INSERT INTO {GRANTS} (bucket, at) VALUES (NEW.bucket, NEW.at)"
_ON = f"AFTER INSERT ON {RateCall.__tablename__}"
_RECORD = {
    "sqlite": [f"CREATE TABLE {GRANTS} (bucket TEXT NOT NULL, at REAL NOT NULL)",
               f"CREATE TRIGGER {GRANTS} {_ON} BEGIN {_COPY}; END"],
    "postgresql": [f"CREATE TABLE {GRANTS} (bucket TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
                   f"CREATE FUNCTION {GRANTS}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {_COPY}; RETURN NEW; END $$",
                   f"CREATE TRIGGER {GRANTS} {_ON} FOR EACH ROW EXECUTE FUNCTION {GRANTS}()"],
}
_DROP = {"sqlite": [f"DROP TRIGGER {GRANTS}", f"DROP TABLE {GRANTS}"],
         "postgresql": [f"DROP TRIGGER {GRANTS} ON {RateCall.__tablename__}", f"DROP FUNCTION {GRANTS}()",
                        f"DROP TABLE {GRANTS}"]}


class Grants:
    """Every permit the limiter grants in `engine`'s database while the context is open."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def recording(self) -> Iterator[Grants]:
        dialect = self.engine.dialect.name
        with self.engine.begin() as db:
            for statement in _RECORD[dialect]:
                db.execute(text(statement))
        try:
            yield self
        finally:
            with self.engine.begin() as db:
                for statement in _DROP[dialect]:
                    db.execute(text(statement))

    def of(self, bucket: str) -> list[float]:
        """When each permit of the bucket was granted (epoch seconds), in order."""
        with self.engine.connect() as db:
            rows = db.execute(text(f"SELECT at FROM {GRANTS} WHERE bucket = :bucket ORDER BY at"), {"bucket": bucket})
            return [at for (at,) in rows]


def most_within(times: Sequence[float], window: float) -> int:
    """The most of `times` in any span [t, t + window): what the limiter allows at most."""
    ordered = sorted(times)
    return max((bisect_left(ordered, start + window) - i for i, start in enumerate(ordered)), default=0)


def each_after_a_permit(arrivals: Sequence[float], grants: Sequence[float]) -> bool:
    """As many requests as permits, and by any moment no more requests arrived than permits were
    granted (the k-th arrival after the k-th grant): none went out without one."""
    return len(arrivals) == len(grants) and all(g <= a for g, a in zip(sorted(grants), sorted(arrivals), strict=True))


def identity(worker: Process) -> str:
    """The identity a worker process polls and completes activities with (the SDK's default)."""
    return f"{worker.popen.pid}@{socket.gethostname()}"


async def polling(client: Client, workers: Sequence[Process]) -> bool:
    """True once every one of the workers polls the task queue for activities."""
    response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=TASK_QUEUE),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
    return {identity(w) for w in workers} <= {p.identity for p in response.pollers}


@dataclass(frozen=True)
class Work:
    """One activity's calls at a step: which worker completed it, from when to when, how many."""

    worker: str
    started: datetime
    ended: datetime
    calls: int


async def step_work(client: Client, workflow_id: str, step: str) -> list[Work]:
    """The work of every activity of a run (each of its histories) at the template step `step`."""
    found = []
    for history in await histories(client, workflow_id):
        events = {event.event_id: event for event in history.events}
        for event in history.events:
            if not event.HasField("activity_task_completed_event_attributes"):
                continue
            done = event.activity_task_completed_event_attributes
            scheduled = events[done.scheduled_event_id].activity_task_scheduled_event_attributes
            if scheduled.activity_type.name != names.RUN_STEP:
                continue
            (request,) = await client.data_converter.decode(scheduled.input.payloads, [RangeRequest])
            if request.step == step:
                (result,) = await client.data_converter.decode(done.result.payloads, [RangeResult])
                started = events[done.started_event_id].event_time.ToDatetime()
                found.append(Work(done.identity, started, event.event_time.ToDatetime(), result.succeeded))
    return found


def calls_by_worker(work: Sequence[Work]) -> Counter[str]:
    counted: Counter[str] = Counter()
    for w in work:
        counted[w.worker] += w.calls
    return counted


def at_once(work: Sequence[Work]) -> bool:
    """Two different workers were calling at the same time."""
    return any(a.worker != b.worker and max(a.started, b.started) < min(a.ended, b.ended)
               for a, b in combinations(work, 2))
