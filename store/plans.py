"""Plans: a cycle's steps, mappings and variables frozen when a run starts, so an edit applies
to the next run.

Activities load a plan by id (it never changes, so each process parses it once); workflows
see only the step ids, names and exits of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from sqlmodel import Session

from store import cycles
from store import variables as variable_store
from store.custom_fields import release_for
from store.database import session
from store.tables import Cycle, CycleStep, Plan
from store.template_spec import StepSpec

_STEP = TypeAdapter(StepSpec)


@dataclass(frozen=True)
class StepPlan:
    id: str  # template step id: the name of the step in a run, its transactions and mappings
    cycle_step_id: str
    name: str
    spec: StepSpec  # with the cycle's mappings
    cycle_id: str
    account_id: str
    collection_split: str  # for the records this step returns: its own, else the template's
    variables: dict[str, str]  # cycle and account variables its mappings use
    account_connector_id: str | None = None
    release_id: str | None = None
    last_successful_run_at: datetime | None = None

    @property
    def type(self) -> str:
        return self.spec.Type

    @property
    def method(self) -> str | None:
        return getattr(self.spec, "Method", None)

    @property
    def connector(self) -> str | None:
        return getattr(self.spec, "Connector", None)

    @property
    def on_error(self) -> str:
        return self.spec.OnError

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepPlan:
        when = data.get("last_successful_run_at")
        return cls(**{**data, "spec": _STEP.validate_python(data["spec"]),
                      "last_successful_run_at": datetime.fromisoformat(when) if when else None})

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "spec": self.spec.model_dump(exclude_none=True),
                "last_successful_run_at": self.last_successful_run_at.isoformat()
                if self.last_successful_run_at else None}


def create_plan(db: Session, cycle_id: str) -> Plan:
    cycle = db.get(Cycle, cycle_id)
    variables = variable_store.resolve(db, cycle.id, cycle.account_id)
    steps = cycles.steps(db, cycle_id)
    for step in steps:  # a connector the account installed after the cycle: bound now, and kept (the caller commits)
        step.account_connector_id = cycles.account_connector_of(db, cycle.account_id, step)
    types = _field_types(db, steps)
    plan = Plan(cycle_id=cycle_id, steps=[_step_plan(db, cycle, s, variables, types).to_json() for s in steps])
    db.add(plan)
    return plan


def _field_types(db: Session, steps: list[CycleStep]) -> dict[tuple[str, str], str]:
    """(step id, field) -> DataType of every field a connector method's record has."""
    return {(s.template_step_id, f.SystemField): f.DataType for s in steps if s.release_id
            for f in release_for(db, s.release_id, s.account_connector_id).method(s.method).response_fields}


def typed_decision(spec: StepSpec, types: dict[tuple[str, str], str]) -> StepSpec:
    """A Decision compares as its Left field's DataType unless it names one, or its Left operand
    converts to one of its own (then it compares as that)."""
    if spec.Type != "Decision" or spec.Condition.DataType or spec.Condition.Left.MappingType != "StepField":
        return spec
    left = spec.Condition.Left
    kind = left.DataType or types.get((left.SourceStep, left.SourceField))
    return spec.model_copy(update={"Condition": spec.Condition.model_copy(update={"DataType": kind})}) \
        if kind else spec


def _step_plan(db: Session, cycle: Cycle, step: CycleStep, variables: dict[str, str],
               types: dict[tuple[str, str], str]) -> StepPlan:
    spec = typed_decision(cycles.step_spec(step, cycles.mappings(db, step.id)), types)
    used = {m.Variable for _, m in spec.sources() if m.MappingType == "Variable"}
    return StepPlan(
        id=step.template_step_id, cycle_step_id=step.id, name=step.name, spec=spec, cycle_id=cycle.id,
        account_id=cycle.account_id, collection_split=getattr(spec, "CollectionSplit", None) or cycle.collection_split,
        variables={k: v for k, v in variables.items() if k in used},
        account_connector_id=step.account_connector_id, release_id=step.release_id,
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
