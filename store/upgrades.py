"""The mapping changes an upgrade carries, made with the move to the Live releases in one
transaction (store/releases.py `upgrade`), and checked against the releases the steps move to.

A release may rename a field. A `Rename` of a step's field follows it wherever the cycle names
it: the step's own mapping of it (a request field or a parameter), and every mapping that
reads it from that step (StepField, ValueList, an Expression's {{step.Field}}, a Decision's
operands, a WaitUntil's date, a Storage value). `MappingSet`s and `MappingDelete`s then set and
delete mappings, as the fieldmappings routes do.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from connectors import Problem
from connectors.mergefields import rename_field
from store.problems import Forbidden
from store.tables import CycleStep, FieldMapping
from store.template_spec import MAX_MAPPINGS, MappingSpec

READS_A_FIELD = ("StepField", "ValueList")  # the mapping types that read SourceStep's SourceField


@dataclass(frozen=True)
class Rename:
    step_id: str  # the cycle step whose method's field the release it moves to renames
    old: str
    new: str


@dataclass(frozen=True)
class MappingSet:
    step_id: str
    field: str
    mapping: MappingSpec


@dataclass(frozen=True)
class MappingDelete:
    step_id: str
    field: str


@dataclass(frozen=True)
class MappingChanges:
    """What an upgrade request asks besides the move; `by_account`: an account token asks it
    (it may set only the mappings its template left to the account, and delete none)."""

    renames: list[Rename] = field(default_factory=list)
    sets: list[MappingSet] = field(default_factory=list)
    deletes: list[MappingDelete] = field(default_factory=list)
    by_account: bool = False


@dataclass
class StepState:
    """A cycle step's document and mappings (field -> mapping document), as changes leave them."""

    row: CycleStep
    document: dict[str, Any]
    mappings: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, row: CycleStep, mappings: list[FieldMapping]) -> StepState:
        return cls(row, copy.deepcopy(row.document), {m.field: copy.deepcopy(m.mapping) for m in mappings})

    def all_mappings(self) -> Iterator[dict[str, Any]]:
        """Its field mappings and the mappings its document holds (a Decision's operands, …)."""
        yield from self.mappings.values()
        yield from _held(self.document)


def changed(states: list[StepState], changes: MappingChanges, moving: set[str]) -> tuple[list[StepState], list[Problem]]:
    """Copies of `states` with the changes made, and what is wrong with the changes asked
    (`moving`: the cycle steps that move to another release). Forbidden for what an account
    may not change."""
    after = [StepState(s.row, copy.deepcopy(s.document), copy.deepcopy(s.mappings)) for s in states]
    by_id = {s.row.id: s for s in after}
    problems: list[Problem] = []
    for i, rename in enumerate(changes.renames):
        problems += _rename(f"$.Renames[{i}]", rename, by_id, after, moving)
    for i, delete in enumerate(changes.deletes):
        problems += _delete(f"$.DeleteFieldMappings[{i}]", delete, by_id, changes.by_account)
    for i, change in enumerate(changes.sets):
        problems += _set(f"$.FieldMappings[{i}]", change, by_id, changes.by_account)
    return after, problems


def _step(path: str, step_id: str, by_id: dict[str, StepState]) -> StepState | Problem:
    return by_id.get(step_id) or Problem(f"{path}.StepId", f"the cycle has no step '{step_id}'")


def _rename(path: str, rename: Rename, by_id: dict[str, StepState], states: list[StepState],
            moving: set[str]) -> list[Problem]:
    state = _step(path, rename.step_id, by_id)
    if isinstance(state, Problem):
        return [state]
    name = state.row.name
    if rename.step_id not in moving:
        return [Problem(f"{path}.StepId", f"step '{name}' stays on its release in this upgrade: only the fields "
                                          "of a step that moves to another release are renamed")]
    found = 0
    if rename.old in state.mappings:
        if rename.new in state.mappings:
            return [Problem(f"{path}.To", f"step '{name}' maps '{rename.new}' already")]
        state.mappings = {rename.new if f == rename.old else f: m for f, m in state.mappings.items()}
        found += 1
    for other in states:
        for mapping in other.all_mappings():
            found += _rename_source(mapping, state.row.template_step_id, rename.old, rename.new)
    if not found:
        return [Problem(f"{path}.From", f"nothing in the cycle maps or reads field '{rename.old}' of step '{name}'")]
    return []


def _rename_source(mapping: dict[str, Any], step: str, old: str, new: str) -> int:
    """Points `mapping` at `step`'s field `new` where it read `old`; how many places it changed."""
    renamed = 0
    if mapping.get("MappingType") in READS_A_FIELD and (mapping.get("SourceStep"), mapping.get("SourceField")) \
            == (step, old):
        mapping["SourceField"] = new
        renamed += 1
    if mapping.get("MappingType") == "Expression" and mapping.get("Expression"):
        expression = rename_field(mapping["Expression"], step, old, new)
        renamed += expression != mapping["Expression"]
        mapping["Expression"] = expression
    return renamed


def _held(value: Any) -> Iterator[dict[str, Any]]:
    """The mappings inside a step's document (an object with a MappingType is one)."""
    if isinstance(value, dict):
        if "MappingType" in value:
            yield value
            return
        for item in value.values():
            yield from _held(item)
    elif isinstance(value, list):
        for item in value:
            yield from _held(item)


def _delete(path: str, delete: MappingDelete, by_id: dict[str, StepState], by_account: bool) -> list[Problem]:
    if by_account:
        raise Forbidden("only the partner may delete a mapping")
    state = _step(path, delete.step_id, by_id)
    if isinstance(state, Problem):
        return [state]
    if state.mappings.pop(delete.field, None) is None:
        return [Problem(f"{path}.Field", f"step '{state.row.name}' has no mapping of '{delete.field}'")]
    return []


def _set(path: str, change: MappingSet, by_id: dict[str, StepState], by_account: bool) -> list[Problem]:
    state = _step(path, change.step_id, by_id)
    if isinstance(state, Problem):
        return [state]
    if state.row.type != "Method":
        return [Problem(f"{path}.StepId", f"step '{state.row.name}' is a {state.row.type}: only Method steps "
                                          "have field mappings")]
    existing = state.mappings.get(change.field)
    mapping = change.mapping
    if by_account:
        if not (existing and existing.get("UserConfigurable")):
            raise Forbidden(f"the mapping of '{change.field}' is not user-configurable: only the partner may set it")
        mapping = mapping.model_copy(update={"UserConfigurable": True})  # it stays the account's to change
    if existing is None and len(state.mappings) >= MAX_MAPPINGS:
        return [Problem(f"{path}.Field", f"step '{state.row.name}' has {MAX_MAPPINGS} field mappings already, "
                                         "the most a step may have")]
    state.mappings[change.field] = mapping.model_dump(exclude_none=True)
    return []


def save(db: Session, before: list[StepState], after: list[StepState], rows: dict[str, list[FieldMapping]]) -> None:
    """Writes what changed from `before` to `after` (`rows`: each step's mapping rows); the
    caller commits. A mapping whose field is gone is deleted before any is added, so a field
    given back to another mapping never meets its old row."""
    for old, new in zip(before, after, strict=True):
        if new.document != old.document:
            new.row.document = new.document
        for row in rows[new.row.id]:
            if row.field not in new.mappings:
                db.delete(row)
    db.flush()
    for old, new in zip(before, after, strict=True):
        kept = {row.field: row for row in rows[new.row.id]}
        for name, mapping in new.mappings.items():
            if name not in kept:
                db.add(FieldMapping(step_id=new.row.id, field=name, mapping=mapping))
            elif mapping != old.mappings[name]:
                kept[name].mapping = mapping
