"""Plans: a cycle's steps and mappings frozen when a run starts, so an edit applies to the next run.

Activities load a plan by id (it never changes, so each process parses it once); workflows
see only the step ids, names and exits of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session, select

from store.database import session
from store.tables import CycleStep, FieldMapping, Plan


@dataclass(frozen=True)
class Mapping:
    field: str
    mapping_type: str  # StaticValue | StepField | Ignore
    value: str | None = None
    source_step: str | None = None
    source_field: str | None = None


@dataclass(frozen=True)
class StepPlan:
    id: str  # template step id: the name of the step in a run, its transactions and mappings
    cycle_step_id: str
    name: str
    type: str
    connector: str | None = None
    method: str | None = None
    account_connector_id: str | None = None
    release_id: str | None = None
    next: str | None = None  # template step id
    on_error: str = "StopTransaction"
    mappings: tuple[Mapping, ...] = field(default_factory=tuple)
    last_successful_run_at: datetime | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepPlan:
        when = data.get("last_successful_run_at")
        return cls(**{**data, "mappings": tuple(Mapping(**m) for m in data["mappings"]),
                      "last_successful_run_at": datetime.fromisoformat(when) if when else None})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_successful_run_at"] = self.last_successful_run_at.isoformat() if self.last_successful_run_at else None
        return data


def create_plan(db: Session, cycle_id: str) -> Plan:
    steps = db.exec(select(CycleStep).where(CycleStep.cycle_id == cycle_id).order_by(CycleStep.position))
    plan = Plan(cycle_id=cycle_id, steps=[_step_plan(db, s).to_json() for s in steps])
    db.add(plan)
    return plan


def _step_plan(db: Session, step: CycleStep) -> StepPlan:
    mappings = db.exec(select(FieldMapping).where(FieldMapping.step_id == step.id))
    return StepPlan(
        id=step.template_step_id, cycle_step_id=step.id, name=step.name, type=step.type,
        connector=step.connector_name, method=step.method, account_connector_id=step.account_connector_id,
        release_id=step.release_id, next=step.next_step_id, on_error=step.on_error,
        mappings=tuple(Mapping(m.field, m.mapping_type, m.value, m.source_step, m.source_field) for m in mappings),
        last_successful_run_at=step.last_successful_run_at,
    )


def steps_of(plan: Plan) -> list[StepPlan]:
    return [StepPlan.from_json(s) for s in plan.steps]


@lru_cache(maxsize=256)
def load_step(plan_id: str, step_id: str) -> StepPlan:
    """One step of a plan; plans never change, so this is read from the database once."""
    with session() as db:
        plan = db.get(Plan, plan_id)
        if plan is None:
            raise LookupError(f"plan {plan_id} does not exist")
        return next(s for s in steps_of(plan) if s.id == step_id)
