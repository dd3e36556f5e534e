"""What workflows and activities pass each other: ids and records, never credentials."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Record = dict[str, Any]


@dataclass
class CycleInput:
    cycle_id: str
    account_id: str
    template_id: str
    start_time: datetime | None = None
    interval_seconds: float | None = None
    run_once: bool = False
    batch_size: int = 100
    next_run_number: int = 1
    # Carried across continue-as-new.
    next_run_at: datetime | None = None
    paused: bool = False


@dataclass
class CycleState:
    """What the status Query and every Update answer."""

    status: str
    paused: bool
    run_in_progress: str | None
    runs_started: int
    next_run_at: datetime | None


@dataclass
class StopRequest:
    finish_current: bool = True


@dataclass
class StatusChange:
    cycle_id: str
    status: str


@dataclass
class Mapping:
    field: str
    mapping_type: str  # StaticValue | StepField | Ignore
    value: str | None = None
    source_step: str | None = None
    source_field: str | None = None


@dataclass
class StepPlan:
    id: str  # cycle step id
    template_step_id: str
    name: str
    type: str
    connector: str | None = None
    method: str | None = None
    account_connector_id: str | None = None
    release_id: str | None = None
    next: str | None = None  # template step id
    on_error: str = "StopTransaction"
    mappings: list[Mapping] = field(default_factory=list)
    last_successful_run_at: datetime | None = None


@dataclass
class RunProgress:
    """A run's position, carried across continue-as-new."""

    cursor: dict[str, Any] | None = None
    next_transaction: int = 0
    succeeded: int = 0
    errored: int = 0
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
class RunPlan:
    run_id: str
    steps: list[StepPlan]


@dataclass
class OpenRun:
    cycle_id: str
    number: int
    workflow_id: str


@dataclass
class Transaction:
    key: str
    data: dict[str, Record]  # template step id -> that step's record


@dataclass
class FetchRequest:
    run_id: str
    step: StepPlan
    cursor: dict[str, Any] | None = None


@dataclass
class FetchResult:
    records: list[Record]
    cursor: dict[str, Any] | None = None  # None: no more pages
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchRequest:
    run_id: str
    cycle_id: str
    step: StepPlan
    transactions: list[Transaction]


@dataclass
class Outcome:
    key: str
    ok: bool
    record: Record | None = None
    error: str | None = None


@dataclass
class BatchResult:
    outcomes: list[Outcome]


@dataclass
class CloseRun:
    run_id: str
    status: str  # Succeeded | Failed | Cancelled
    succeeded: int
    errored: int
    message: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: str
    status: str
    succeeded: int
    errored: int
    message: str | None = None
