"""Temporal Schedules the worker makes sure exist when it starts."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)

from runtime.settings import TASK_QUEUE
from workflows.retention import RetentionWorkflow

RETENTION_SCHEDULE = "cyclewright-retention"
RETENTION_EVERY = timedelta(hours=1)

log = logging.getLogger("cyclewright.schedules")


def retention_schedule() -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(RetentionWorkflow.run, id=RETENTION_SCHEDULE, task_queue=TASK_QUEUE),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=RETENTION_EVERY)]),
        # A purge still going when the next is due makes the next one pointless.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="deletes runs and transactions past their account's retention period"),
    )


async def ensure_retention_schedule(client: Client) -> None:
    """Create the retention schedule unless it exists. An existing one is left as it is: an
    operator may have paused it or changed its interval, and a worker restart must not undo
    that; and of several workers starting at once, one creates it and the others find it."""
    try:
        await client.create_schedule(RETENTION_SCHEDULE, retention_schedule())
        log.info("created the schedule %r", RETENTION_SCHEDULE)
    except ScheduleAlreadyRunningError:
        pass
