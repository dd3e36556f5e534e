"""Cycles: a template installed into an account, its mappings, and what blocks activation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete as delete_rows
from sqlmodel import Session, col, select

from connectors import Connector, Method, Problem
from connectors.call import call_parameters, settable
from connectors.inputs import Required, required_parameters
from store import custom_fields, partner_events, patterns
from store import variables as variable_store
from store.connections import load_release
from store.connectors import release_by_name
from store.crypto import decrypt_json
from store.custom_fields import release_for
from store.problems import Forbidden, Invalid, plain
from store.step_graph import StepGraph
from store.tables import (
    AccountConnector,
    ConnectorRelease,
    Cycle,
    CycleStep,
    FieldMapping,
    InboundEvent,
    Plan,
    Run,
    StorageItem,
    Template,
    Transaction,
    Variable,
)
from store.template_spec import (
    MAX_MAPPINGS,
    DecisionStep,
    FieldMappingSpec,
    MappingSpec,
    StepSpec,
    TemplateSpec,
)
from store.templates import check_mapping, static_value_problems, version_document


@dataclass(frozen=True)
class Prerequisite:
    step_id: str
    # ConnectorNotInstalled | NotAuthenticated | MissingProperty | MissingMapping | MissingVariable | InvalidPattern
    reason: str
    message: str
    # What it is about, for a client that fixes it: the connector and its account connector, the
    # property, the field or parameter mapped, the variable.
    connector_id: str | None = None
    account_connector_id: str | None = None
    property: str | None = None
    field: str | None = None
    variable: str | None = None


def install(db: Session, template: Template, account_id: str, name: str | None,
            bindings: dict[str, str]) -> Cycle:
    """Copy the template's steps into a new Paused cycle bound to the account's connectors."""
    spec = TemplateSpec.model_validate(template.document)
    cycle = Cycle(account_id=account_id, template_id=template.id, template_version=template.version,
                  name=name or template.name, collection_split=spec.CollectionSplit)
    db.add(cycle)
    for position, step in enumerate(spec.Steps):
        connector = getattr(step, "Connector", None)
        release = release_by_name(db, connector, step.Version) if connector else None
        if connector and release is None:  # deleted since the template was saved
            version = f" with version {step.Version}" if step.Version else ""
            raise Invalid([Problem(f"$.Steps[{position}].Connector", f"no connector named '{connector}'{version}")])
        row = CycleStep(
            cycle_id=cycle.id, template_step_id=step.Id, position=position, name=step.Name or step.Id,
            type=step.Type, document=step.model_dump(exclude_none=True, exclude={"FieldMappings"}),
            connector_name=connector, release_id=release.id if release else None,
            method=getattr(step, "Method", None),
            account_connector_id=_bind(db, account_id, release.connector_id, step, bindings) if release else None,
            webhook_id=secrets.token_urlsafe(24) if step.Type == "Webhook" else None,
        )
        db.add(row)
        for mapping in getattr(step, "FieldMappings", []):
            db.add(FieldMapping(step_id=row.id, field=mapping.Field, mapping=_document(mapping)))
    db.flush()
    partner_events.cycle_event(db, "cycle.installed", cycle.id)
    db.commit()
    return cycle


def _document(mapping: MappingSpec) -> dict[str, Any]:
    return mapping.model_dump(exclude_none=True, exclude={"Field"})


def step_spec(step: CycleStep, mappings: list[FieldMapping] | None = None) -> StepSpec:
    """The cycle's step as a template step, with the cycle's own mappings."""
    return spec_of(step.type, step.document, {m.field: m.mapping for m in mappings or []})


def spec_of(step_type: str, document: dict[str, Any], mappings: dict[str, dict[str, Any]]) -> StepSpec:
    """A cycle step's document, with these mappings (field -> mapping), as a template step."""
    document = dict(document)
    if step_type == "Method":
        document["FieldMappings"] = [{"Field": field, **mapping} for field, mapping in mappings.items()]
    return TypeAdapter(StepSpec).validate_python(document)


def _bind(db: Session, account_id: str, connector_id: str, step: StepSpec,
          bindings: dict[str, str]) -> str | None:
    """The account's installation of the step's connector: the only one, or the one named."""
    candidates = db.exec(select(AccountConnector).where(
        AccountConnector.account_id == account_id, AccountConnector.connector_id == connector_id)).all()
    chosen = bindings.get(step.Connector)
    if chosen is not None:
        if chosen not in {c.id for c in candidates}:
            raise Invalid([Problem(f"$.AccountConnectors.{step.Connector}",
                                   f"account connector '{chosen}' is not an installation of "
                                   f"'{step.Connector}' in this account")])
        return chosen
    if len(candidates) > 1:
        raise Invalid([Problem("$.AccountConnectors",
                               f"the account has {len(candidates)} installations of '{step.Connector}': "
                               "name one in AccountConnectors")])
    return candidates[0].id if candidates else None


def is_webhook_driven(db: Session, cycle_id: str) -> bool:
    """Its trigger is a Webhook step: it runs when events arrive."""
    return steps(db, cycle_id)[0].type == "Webhook"


def steps(db: Session, cycle_id: str) -> list[CycleStep]:
    return list(db.exec(select(CycleStep).where(CycleStep.cycle_id == cycle_id).order_by(CycleStep.position)))


def methods(db: Session, rows: list[CycleStep], releases: dict[str, str] | None = None) -> dict[str, Method | None]:
    """Each step's connector method, by template step id, as its account connector sees it
    (custom fields too), on the step's release or on the one `releases` names for it (cycle step
    id -> release id); None where the step calls no method, or the release has not the step's."""
    found: dict[str, Method | None] = {}
    seen: dict[tuple[str, str | None], Connector] = {}  # each release as each account connector sees it, once
    for row in rows:
        release_id = (releases or {}).get(row.id, row.release_id)
        account_id = db.get(Cycle, row.cycle_id).account_id
        connector = None
        if release_id:
            key = (release_id, account_connector_of(db, account_id, row))
            connector = seen[key] if key in seen else seen.setdefault(key, release_for(db, *key))
        found[row.template_step_id] = next(
            (m for m in connector.Methods if m.UniqueIdentifier == row.method), None) if connector else None
    return found


def mappings(db: Session, step_id: str) -> list[FieldMapping]:
    return list(db.exec(select(FieldMapping).where(FieldMapping.step_id == step_id)))


def set_mapping(db: Session, step: CycleStep, field: str, mapping: MappingSpec,
                by_account: bool = False) -> FieldMapping:
    """Validate against the step's method and the cycle's other steps, then upsert. An account
    (rather than the partner) may set only a mapping its template marked UserConfigurable, or a
    custom field its account connector's lookup found that the template does not map."""
    existing = db.exec(select(FieldMapping).where(FieldMapping.step_id == step.id,
                                                  FieldMapping.field == field)).first()
    if by_account and not custom_fields.account_may_set(existing, field in custom_fields.request_fields(
            db, account_connector_of(db, db.get(Cycle, step.cycle_id).account_id, step), step.method)):
        raise Forbidden(f"the mapping of '{field}' is not user-configurable: only the partner may set it")
    if by_account:
        mapping = mapping.model_copy(update={"UserConfigurable": True})  # it stays the account's to change
    if existing is None and len(mappings(db, step.id)) >= MAX_MAPPINGS:
        raise Invalid([Problem("path:field", f"step '{step.name}' has {MAX_MAPPINGS} field mappings already, "
                                             "the most a step may have")])
    spec = template_of(db, step.cycle_id)
    template_step = next(s for s in spec.Steps if s.Id == step.template_step_id)
    if template_step.Type != "Method":
        raise Invalid([Problem("$", f"step '{step.name}' is a {template_step.Type}: only Method steps have "
                                    "field mappings")])
    try:
        target = FieldMappingSpec(Field=field, **mapping.model_dump(exclude_none=True))
    except ValidationError as err:  # the body is valid already: the field's name (from the path) is not
        raise Invalid([Problem("path:field", plain(e["msg"])) for e in err.errors()]) from None
    step_methods = methods(db, steps(db, step.cycle_id))
    problems = check_mapping("$", StepGraph.of(spec), template_step, target, step_methods)
    problems += static_value_problems(step_methods.get(template_step.Id), target)
    if problems:
        raise Invalid(problems)
    if existing is not None:
        db.delete(existing)
        db.flush()
    row = FieldMapping(step_id=step.id, field=field, mapping=_document(mapping))
    db.add(row)
    db.commit()
    return row


def delete_mapping(db: Session, step: CycleStep, field: str) -> bool:
    """Remove the step's mapping of `field`; False when it had none."""
    existing = db.exec(select(FieldMapping).where(FieldMapping.step_id == step.id,
                                                  FieldMapping.field == field)).first()
    if existing is None:
        return False
    db.delete(existing)
    db.commit()
    return True


def template_of(db: Session, cycle_id: str) -> TemplateSpec:
    """The template as the cycle installed it: its own version, not necessarily the latest."""
    cycle = db.get(Cycle, cycle_id)
    return TemplateSpec.model_validate(version_document(db, db.get(Template, cycle.template_id),
                                                        cycle.template_version))


def prerequisites(db: Session, cycle: Cycle) -> list[Prerequisite]:
    """Everything that would make a run fail for want of configuration, found before activation."""
    found: list[Prerequisite] = []
    variables = variable_store.resolve(db, cycle.id, cycle.account_id)
    for step in steps(db, cycle.id):
        rows = mappings(db, step.id)
        spec = step_spec(step, rows)
        found += _variable_problems(step, spec, variables)
        if step.release_id is None:
            continue
        bound = account_connector_of(db, cycle.account_id, step)
        found += _connector_unready(db, step, bound)
        connector = release_for(db, step.release_id, bound)
        method = connector.method(step.method)
        given = {m.Field for m in getattr(spec, "FieldMappings", []) if m.MappingType != "Ignore"}
        for m in getattr(spec, "FieldMappings", []):
            if not m.is_set:
                found.append(Prerequisite(step.id, "MissingMapping",
                                          f"step '{step.name}': the mapping of '{m.Field}' is left to the "
                                          "account and has no value yet", field=m.Field))
        for f in method.request_fields if step.type == "Method" else []:
            if not f.IsOptional and f.DefaultValue is None and f.SystemField not in given:
                found.append(Prerequisite(step.id, "MissingMapping",
                                          f"step '{step.name}': required field '{f.SystemField}' has no mapping",
                                          field=f.SystemField))
        for need in _unfilled_parameters(connector, method, given) if step.type == "Method" else []:
            found.append(Prerequisite(step.id, "MissingMapping",
                                      f"step '{step.name}': required {need.kind} '{need.key}' has no mapping",
                                      field=need.key))
    return found


def _unfilled_parameters(connector: Connector, method: Method, given: set[str]) -> list[Required]:
    """A step's required path, query and header parameters that nothing fills: every call would
    fail for want of them."""
    params = call_parameters(connector, method)
    by_key = {p.key: p for p in params}
    return [need for need in required_parameters(method, params, {p.key for p in params if settable(p)})
            if need.key not in given and by_key[need.key].TargetName not in given]


def account_connector_of(db: Session, account_id: str, step: CycleStep) -> str | None:
    """The account connector the step calls: the one bound when the cycle was installed, else
    (the account had none then) the account's only installation of the connector since."""
    if step.account_connector_id is not None or step.release_id is None:
        return step.account_connector_id
    connector_id = db.get(ConnectorRelease, step.release_id).connector_id
    found = db.exec(select(AccountConnector.id).where(AccountConnector.account_id == account_id,
                                                      AccountConnector.connector_id == connector_id)).all()
    return found[0] if len(found) == 1 else None


def _connector_unready(db: Session, step: CycleStep, bound: str | None) -> list[Prerequisite]:
    connector = load_release(db, step.release_id)
    connector_id = db.get(ConnectorRelease, step.release_id).connector_id
    installed = db.get(AccountConnector, bound) if bound else None
    if installed is None:
        return [Prerequisite(step.id, "ConnectorNotInstalled",
                             f"step '{step.name}': connector '{connector.Name}' is not installed in this account "
                             "(or is installed more than once, and the cycle names none: install the cycle "
                             "again, naming one in AccountConnectors)", connector_id=connector_id)]
    found = []
    if not installed.authenticated:
        found.append(Prerequisite(step.id, "NotAuthenticated",
                                  f"step '{step.name}': account connector '{installed.name}' is not authenticated",
                                  connector_id=connector_id, account_connector_id=installed.id))
    properties = decrypt_json(installed.properties)
    for p in connector.account_properties():
        if not p.IsOptional and not properties.get(p.Name or "") and p.DefaultValue is None:
            found.append(Prerequisite(step.id, "MissingProperty",
                                      f"step '{step.name}': account connector property '{p.Name}' has no value",
                                      connector_id=connector_id, account_connector_id=installed.id, property=p.Name))
    return found


def _variable_problems(step: CycleStep, spec: StepSpec, variables: dict[str, str]) -> list[Prerequisite]:
    """Variables the step reads that are not set, or (a Decision's Matches pattern) not a pattern."""
    found = [Prerequisite(step.id, "MissingVariable",
                          f"step '{step.name}': variable '{m.Variable}' is set neither for the cycle nor "
                          "for the account", variable=m.Variable)
             for _, m in spec.sources() if m.MappingType == "Variable" and m.Variable not in variables]
    right = spec.Condition.Right if isinstance(spec, DecisionStep) and spec.Condition.Operator == "Matches" else None
    if right and right.MappingType == "Variable" and right.Variable in variables \
            and (problem := patterns.problem(variables[right.Variable])) is not None:
        found.append(Prerequisite(step.id, "InvalidPattern", f"step '{step.name}': variable '{right.Variable}', "
                                                             f"its Matches pattern: {problem}",
                                  variable=right.Variable))
    return found


def delete(db: Session, cycle: Cycle) -> None:
    """The cycle and all that is only its: steps and their mappings, plans, runs and their
    transactions, queued webhook events, its variables and storage. Its workflow must have ended."""
    partner_events.cycle_event(db, "cycle.removed", cycle.id)
    for table, column in ((Transaction, Transaction.cycle_id), (Run, Run.cycle_id), (Plan, Plan.cycle_id),
                          (InboundEvent, InboundEvent.cycle_id), (Variable, Variable.owner_id),
                          (StorageItem, StorageItem.scope_id)):
        db.execute(delete_rows(table).where(column == cycle.id))
    steps = select(CycleStep.id).where(CycleStep.cycle_id == cycle.id)
    db.execute(delete_rows(FieldMapping).where(col(FieldMapping.step_id).in_(steps)))
    db.execute(delete_rows(CycleStep).where(CycleStep.cycle_id == cycle.id))
    db.delete(cycle)
    db.commit()
