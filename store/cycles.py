"""Cycles: a template installed into an account, its mappings, and what blocks activation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from connectors import Problem
from store.connections import load_release
from store.connectors import release_by_name
from store.crypto import decrypt_json
from store.problems import Invalid
from store.tables import AccountConnector, Cycle, CycleStep, FieldMapping, Template
from store.template_spec import MappingSpec, StepSpec, TemplateSpec
from store.templates import check_mapping, methods_of


@dataclass(frozen=True)
class Prerequisite:
    step_id: str | None
    kind: str  # Connector | Authentication | Property | FieldMapping
    message: str


def install(db: Session, template: Template, account_id: str, name: str | None,
            bindings: dict[str, str]) -> Cycle:
    """Copy the template's steps into a new Paused cycle bound to the account's connectors."""
    spec = TemplateSpec.model_validate(template.document)
    cycle = Cycle(account_id=account_id, template_id=template.id, name=name or template.name,
                  collection_split=spec.CollectionSplit)
    db.add(cycle)
    for position, step in enumerate(spec.Steps):
        release = release_by_name(db, step.Connector, step.Version)
        row = CycleStep(
            cycle_id=cycle.id, template_step_id=step.Id, position=position, name=step.Name or step.Id,
            type=step.Type, connector_name=step.Connector, release_id=release.id, method=step.Method,
            account_connector_id=_bind(db, account_id, release.connector_id, step, bindings),
            next_step_id=step.Next, on_error=step.OnError,
        )
        db.add(row)
        for mapping in step.FieldMappings:
            db.add(_mapping_row(row.id, mapping.Field, mapping))
    db.commit()
    return cycle


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


def _mapping_row(step_id: str, field: str, mapping: MappingSpec) -> FieldMapping:
    return FieldMapping(step_id=step_id, field=field, mapping_type=mapping.MappingType,
                        value=mapping.Value, source_step=mapping.SourceStep,
                        source_field=mapping.SourceField)


def steps(db: Session, cycle_id: str) -> list[CycleStep]:
    return list(db.exec(select(CycleStep).where(CycleStep.cycle_id == cycle_id).order_by(CycleStep.position)))


def mappings(db: Session, step_id: str) -> list[FieldMapping]:
    return list(db.exec(select(FieldMapping).where(FieldMapping.step_id == step_id)))


def set_mapping(db: Session, step: CycleStep, field: str, mapping: MappingSpec) -> FieldMapping:
    """Validate against the step's method and the cycle's other steps, then upsert."""
    cycle = db.get(Cycle, step.cycle_id)
    spec = TemplateSpec.model_validate(db.get(Template, cycle.template_id).document)
    template_step = next(s for s in spec.Steps if s.Id == step.template_step_id)
    problems = check_mapping("$", template_step, field, mapping, methods_of(db, spec))
    if problems:
        raise Invalid(problems)
    existing = db.exec(select(FieldMapping).where(FieldMapping.step_id == step.id,
                                                  FieldMapping.field == field)).first()
    if existing is not None:
        db.delete(existing)
        db.flush()
    row = _mapping_row(step.id, field, mapping)
    db.add(row)
    db.commit()
    return row


def prerequisites(db: Session, cycle: Cycle) -> list[Prerequisite]:
    """Everything that would make a run fail for want of configuration, found before activation."""
    found: list[Prerequisite] = []
    for step in steps(db, cycle.id):
        connector = load_release(db, step.release_id)
        installed = db.get(AccountConnector, step.account_connector_id) if step.account_connector_id else None
        if installed is None:
            found.append(Prerequisite(step.id, "Connector",
                                      f"step '{step.name}': connector '{connector.Name}' is not installed "
                                      "in this account"))
            continue
        if not installed.authenticated:
            found.append(Prerequisite(step.id, "Authentication",
                                      f"step '{step.name}': account connector '{installed.name}' is not "
                                      "authenticated"))
        properties = decrypt_json(installed.properties)
        for p in connector.account_properties():
            if not p.IsOptional and not properties.get(p.Name or "") and p.DefaultValue is None:
                found.append(Prerequisite(step.id, "Property",
                                          f"step '{step.name}': account connector property '{p.Name}' "
                                          "has no value"))
        mapped = {m.field for m in mappings(db, step.id) if m.mapping_type != "Ignore"}
        method = connector.method(step.method)
        for f in method.request_fields:
            if not f.IsOptional and f.DefaultValue is None and f.SystemField not in mapped:
                found.append(Prerequisite(step.id, "FieldMapping",
                                          f"step '{step.name}': required field '{f.SystemField}' has no "
                                          "mapping"))
    return found
