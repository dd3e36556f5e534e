"""The templates a partner marks agent-callable (nothing by default), the cycles of an account
that are then its MCP tools (api/agents/template_tools.py), and what became of one event.

A call of such a tool is one webhook event of the cycle (store/inbound.py): the transactions a
run takes from the event carry its id, so the call can report their outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from connectors import Problem
from connectors.mergefields import field_references
from store.problems import Invalid
from store.tables import Cycle, CycleStep, FieldMapping, InboundEvent, Template, Transaction

ENDED = {"Success", "Errored", "Stopped"}  # a transaction in another status (Pending) is still under way


def mark(db: Session, template: Template, agent_callable: bool) -> Template:
    """Mark the template agent-callable (or not). Only a template whose trigger is a Webhook step
    can be: a call is one event. Invalid, naming the field, changes nothing."""
    trigger = template.document["Steps"][0]
    if agent_callable and trigger.get("Type", "Method") != "Webhook":
        raise Invalid([Problem("$.Callable", f"the trigger of '{template.name}' ('{trigger['Id']}') is a "
                                             f"{trigger.get('Type', 'Method')} step: only a template whose trigger "
                                             "is a Webhook step can be called by agents (a call is one event)")])
    template.agent_callable = agent_callable
    db.add(template)
    db.commit()
    return template


@dataclass(frozen=True)
class CallableCycle:
    """An account's Active cycle of an agent-callable template, triggered by a Webhook step."""

    cycle: Cycle
    template: Template
    trigger: CycleStep  # its Webhook step: a call is one of its events
    fields: list[str] | None  # the event's fields the cycle reads; None when unknown (a connector reads the event)


def callable_cycles(db: Session, account_id: str) -> list[CallableCycle]:
    """The account's cycles agents may call, oldest first."""
    rows = db.exec(select(Cycle, Template, CycleStep)
                   .join(Template, col(Template.id) == Cycle.template_id)
                   .join(CycleStep, col(CycleStep.cycle_id) == Cycle.id)
                   .where(Cycle.account_id == account_id, Cycle.status == "Active", col(Template.agent_callable),
                          CycleStep.position == 0, CycleStep.type == "Webhook")
                   .order_by(Cycle.created_at, Cycle.id)).all()
    return [CallableCycle(cycle, template, trigger, None if trigger.method else _fields_read(db, trigger))
            for cycle, template, trigger in rows]


def _fields_read(db: Session, trigger: CycleStep) -> list[str]:
    """The fields of the trigger's record the cycle's mappings read (by StepField, ValueList or
    an Expression), top level, in order of first use."""
    steps = db.exec(select(CycleStep).where(CycleStep.cycle_id == trigger.cycle_id)
                    .order_by(CycleStep.position)).all()
    mappings = [m.mapping for m in db.exec(select(FieldMapping).where(
        col(FieldMapping.step_id).in_([s.id for s in steps])).order_by(FieldMapping.field)).all()]
    for step in steps:  # a step's other mappings: a Decision's operands, a WaitUntil's date, a Storage value
        condition = step.document.get("Condition") or {}
        mappings += [m for m in (condition.get("Left"), condition.get("Right"),
                                 step.document.get("Until"), step.document.get("Value")) if isinstance(m, dict)]
    fields: dict[str, None] = {}
    for mapping in mappings:
        if mapping.get("SourceStep") == trigger.template_step_id and mapping.get("SourceField"):
            fields[_top(mapping["SourceField"])] = None
        for step, field in field_references(mapping.get("Expression") or ""):
            if step == trigger.template_step_id:
                fields[_top(field)] = None
    return list(fields)


def _top(field: str) -> str:
    return field.split(".", 1)[0].split("[", 1)[0]


@dataclass(frozen=True)
class Outcome:
    """What became of one event: still queued, or taken as `total` transactions, `unfinished`
    of them under way; the first `limit` shown."""

    queued: bool
    total: int
    unfinished: int
    transactions: list[dict[str, Any]]

    @property
    def ended(self) -> bool:
        return not self.queued and self.unfinished == 0


def outcome(db: Session, cycle_id: str, event_id: int, limit: int) -> Outcome:
    queued = db.get(InboundEvent, event_id) is not None
    where = (Transaction.cycle_id == cycle_id, Transaction.inbound_event_id == event_id)
    total, unfinished = db.exec(select(func.count(), func.count().filter(col(Transaction.status).notin_(ENDED)))
                                .select_from(Transaction).where(*where)).one()
    rows = db.exec(select(Transaction).where(*where).order_by(Transaction.created_at, Transaction.seq).limit(limit)).all()
    return Outcome(queued, total, unfinished,
                   [{"Id": t.id, "Status": t.status, "Step": t.step, "Message": t.message} for t in rows])
