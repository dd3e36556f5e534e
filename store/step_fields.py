"""The fields of a cycle's step as its account sees them: what a UI asks the account to fill.

Each field the step's method takes (request fields, custom ones found for the account connector
included, and the method's settable parameters), with its current mapping and whether the
account may set it: a mapping its template left to the account (UserConfigurable), or a custom
field the partner's template could not know of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel import Session

from connectors.call import settable
from connectors.lookups import lookup_methods
from store import custom_fields as custom_field_store
from store import cycles
from store.connections import load_release
from store.tables import Cycle, CycleStep

CustomFields = Literal["None", "NotLookedUp", "LookedUp"]


@dataclass(frozen=True)
class StepField:
    field: str
    label: str
    data_type: str
    optional: bool  # the call works without it: optional, or with a default
    values: list[str]  # allowed values; empty: any
    trigger_name: str | None  # a dropdown: the values of this trigger of the account connector
    description: str | None
    custom: bool  # found by the account connector's custom-fields lookup
    mapping: dict[str, Any] | None
    user_configurable: bool


@dataclass(frozen=True)
class StepFields:
    account_connector_id: str | None
    method: str | None
    custom_fields: CustomFields  # whether the method has custom-fields lookups, and whether they ran
    fields: list[StepField]


def step_fields(db: Session, step: CycleStep) -> StepFields:
    account_id = db.get(Cycle, step.cycle_id).account_id
    bound = cycles.account_connector_of(db, account_id, step)
    method = cycles.methods(db, [step])[step.template_step_id] if step.type == "Method" else None
    if method is None:
        return StepFields(bound, step.method, "None", [])
    own = load_release(db, step.release_id).method(step.method)
    lookups = "None" if not lookup_methods(own) else \
        "LookedUp" if bound and custom_field_store.get(db, bound, step.method) else "NotLookedUp"
    custom = custom_field_store.request_fields(db, bound, step.method)
    mappings = {m.field: m for m in cycles.mappings(db, step.id)}
    found = [StepField(f.SystemField, f.DisplayField or f.SystemField, f.DataType, f.IsOptional or f.DefaultValue
                       is not None, [str(v) for v in f.Values], f.TriggerName, f.Description, f.SystemField in custom,
                       None, False) for f in method.request_fields]
    found += [StepField(p.key, p.key, p.DataType or "Text", p.IsOptional or p.DefaultValue is not None, p.Values,
                        p.TriggerName, p.Description, False, None, False)
              for p in method.Parameters if settable(p) and p.key]
    return StepFields(bound, step.method, lookups, [
        StepField(**{**f.__dict__, "mapping": mappings[f.field].mapping if f.field in mappings else None,
                     "user_configurable": custom_field_store.account_may_set(mappings.get(f.field), f.custom)})
        for f in found])
