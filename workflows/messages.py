"""What workflows and activities pass each other: ids, sequence ranges, counts and short
messages — never records (they live in the transaction store) and never credentials."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CycleInput:
    cycle_id: str
    account_id: str
    template_id: str
    start_time: datetime | None = None
    interval_seconds: float | None = None
    run_once: bool = False
    webhook: bool = False  # runs when events arrive, not on a schedule
    batch_size: int = 100
    next_run_number: int = 1
    # Carried across continue-as-new.
    next_run_at: datetime | None = None
    paused: bool = False
    status_writes: int = 0
    subscribed: bool = False  # its webhooks were subscribed at the connectors


@dataclass
class CycleState:
    """What the status Query and every Update answer."""

    status: str
    paused: bool
    run_in_progress: str | None
    runs_started: int
    next_run_at: datetime | None
    reason: str | None = None


@dataclass
class StopRequest:
    finish_current: bool = True


@dataclass
class StatusChange:
    cycle_id: str
    status: str
    owner: str  # the cycle workflow's first run id
    seq: int  # its how-many-th status write, so a late one never wins
    reason: str | None = None  # why, when the cycle paused or errored by itself


@dataclass
class StepView:
    """What a workflow knows of a step: its id, exits, and names for the Web UI."""

    id: str  # template step id
    name: str
    type: str
    connector: str | None = None
    method: str | None = None
    next: str | None = None
    seconds: int | None = None  # a Delay's

    def summary(self, what: str) -> str:
        call = f" · {self.connector} {self.method}" if self.connector else ""
        return f"{self.name}{call} · {what}"


@dataclass
class RunPlan:
    run_id: str
    plan_id: str
    steps: list[StepView]  # the trigger first
    retry_seconds: float  # how long upstream failures are retried before a run gives up
    step_retries: int = 4  # how often a step with OnError Retry tries a failed call again
    collection_split: str = "First"  # the trigger's: None gathers its records into one transaction


@dataclass
class RunProgress:
    """A run's position, carried across continue-as-new."""

    cursor: dict[str, Any] | None = None
    fetched: int = 0  # transactions the trigger has written (sequence numbers 1…fetched)
    dispatched: int = 0  # of those, how many have gone through the steps
    trigger_done: bool = False
    succeeded: int = 0
    errored: int = 0
    paused: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunInput:
    cycle_id: str
    account_id: str
    template_id: str
    number: int
    batch_size: int = 100
    progress: RunProgress | None = None


@dataclass
class OpenRun:
    cycle_id: str
    number: int
    workflow_id: str


@dataclass
class FetchRequest:
    run_id: str
    plan_id: str
    step: str
    first: int  # the sequence number the first record read gets
    cursor: dict[str, Any] | None = None
    max_records: int = 10_000  # read until at least this many (whole pages), or the last page


@dataclass
class FetchResult:
    count: int  # transactions written, from `first` on
    cursor: dict[str, Any] | None = None  # None: no more pages
    warnings: list[str] = field(default_factory=list)


@dataclass
class RangeRequest:
    """Transactions first ≤ seq < end of a run, at one step."""

    run_id: str
    plan_id: str
    step: str
    first: int
    end: int
    attempt: int = 0  # OnError Retry: the how-many-th try of the calls that failed before
    due: datetime | None = None  # WaitUntil: the wake time whose timer fired


@dataclass
class RangeResult:
    routed: dict[str, int] = field(default_factory=dict)  # next step -> transactions sent there
    succeeded: int = 0  # ended here, successfully
    errored: int = 0
    stopped: int = 0
    errors: list[str] = field(default_factory=list)  # a few short messages, for the run's log
    waits: dict[str, int] = field(default_factory=dict)  # WaitUntil: wake time (ISO) -> transactions
    retrying: int = 0  # OnError Retry: failed calls to try again after a backoff
    stop_cycle: str | None = None  # OnError StopCycle: why the cycle must pause


@dataclass
class CollectRequest:
    """CollectionSplit None: the trigger's records, all read, into one transaction."""

    run_id: str
    trigger: str
    next_step: str | None


@dataclass
class CloseRun:
    run_id: str
    status: str  # Succeeded | Failed | Cancelled
    message: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: str
    status: str
    succeeded: int
    errored: int
    stopped: int = 0
    message: str | None = None
    pause_reason: str | None = None  # a StopCycle step failed: the cycle pauses, for this reason


@dataclass
class RetryInput:
    cycle_id: str
    account_id: str
    template_id: str
    transaction_id: str


@dataclass
class RetryPlan:
    plan: RunPlan
    seq: int
    step: str  # where the transaction starts again


@dataclass
class CloseRetry:
    transaction_id: str
    message: str | None = None  # why the retry itself failed, if it did


@dataclass
class PurgeCounts:
    """What one retention pass deleted."""

    runs: int = 0
    transactions: int = 0
    plans: int = 0
    events: int = 0  # events for the partner's backend, with their deliveries

    def summary(self) -> str:
        return f"purged {self.runs} runs, {self.transactions} transactions, {self.plans} plans, {self.events} events"


@dataclass
class NamespaceLacks:
    """What the Temporal namespace lacks that a cycle's runs need: why, and which attributes."""

    reason: str
    attributes: list[str] = field(default_factory=list)
