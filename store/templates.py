"""Templates: validated against the connectors they name before they are saved."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete as delete_rows
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connectors import Connector, Method, Problem, scripts
from connectors.call import settable
from connectors.mergefields import field_references
from connectors.types import as_type
from store.connections import load_release
from store.connectors import refuse_while_cycles, release_by_name
from store.problems import Invalid, json_path, plain
from store.step_graph import StepGraph
from store.tables import Cycle, Template, TemplateVersion
from store.template_spec import FieldMappingSpec, MappingSpec, StepSpec, TemplateSpec


def parse_template(document: Any) -> TemplateSpec:
    try:
        return TemplateSpec.model_validate(document)
    except ValidationError as err:
        raise Invalid([_problem(e) for e in err.errors()]) from None


def _problem(error: dict[str, Any]) -> Problem:
    return Problem(json_path(error["loc"]), plain(error["msg"]))


def create(db: Session, spec: TemplateSpec) -> Template:
    problems = check(db, spec)
    if problems:
        raise Invalid(problems)
    template = Template(name=spec.Name, document=spec.model_dump(exclude_none=True))
    db.add(template)
    db.add(TemplateVersion(template_id=template.id, version=1, document=template.document))
    db.commit()
    return template


NamedConnectors = dict[tuple[str, str | None], Connector | None]  # (Connector, Version) -> that release, if any


def _methods(db: Session, spec: TemplateSpec) -> tuple[dict[str, Method | None], NamedConnectors]:
    """Each step's connector method (None where the step calls none, or names one not found),
    and the releases named. Each release is looked up and read once, however many steps use it."""
    connectors: NamedConnectors = {}
    found: dict[str, Method | None] = {}
    for step in spec.Steps:
        name = getattr(step, "Connector", None)
        if name is None:
            found[step.Id] = None
            continue
        if (name, step.Version) not in connectors:
            release = release_by_name(db, name, step.Version)
            connectors[(name, step.Version)] = load_release(db, release.id) if release else None
        connector = connectors[(name, step.Version)]
        found[step.Id] = next((m for m in connector.Methods if m.UniqueIdentifier == step.Method), None) \
            if connector else None
    return found, connectors


def check(db: Session, spec: TemplateSpec) -> list[Problem]:
    problems = graph_problems(spec)
    methods, connectors = _methods(db, spec)
    graph = StepGraph.of(spec)
    for i, step in enumerate(spec.Steps):
        path = f"$.Steps[{i}]"
        if i > 0 and step.Type == "Webhook":
            problems.append(Problem(f"{path}.Type", "only the first step (the trigger) may be a Webhook"))
        if i == 0 and step.Type not in ("Method", "Webhook"):
            problems.append(Problem(f"{path}.Type", "the first step (the trigger) must be a Method or a Webhook"))
        problems += _method_problems(path, step, methods, connectors)
        if script := getattr(step, "Script", None):
            problems += [Problem(f"{path}.Script", problem) for problem in scripts.problems(script)]
        mapped: set[str] = set()
        for where, mapping in step.sources():
            problems += check_mapping(f"{path}.{where}", graph, step, mapping, methods)
            if isinstance(mapping, FieldMappingSpec):
                if mapping.Field in mapped:
                    problems.append(Problem(f"{path}.{where}.Field", f"'{mapping.Field}' is mapped more than once"))
                mapped.add(mapping.Field)
    return problems


def _method_problems(path: str, step: StepSpec, methods: dict[str, Method | None],
                     connectors: NamedConnectors) -> list[Problem]:
    name = getattr(step, "Connector", None)
    if name is None:
        return []
    if connectors[(name, step.Version)] is None:
        version = f" with version {step.Version}" if step.Version else ""
        return [Problem(f"{path}.Connector", f"no connector named '{name}'{version}")]
    method = methods[step.Id]
    if method is None:
        return [Problem(f"{path}.Method", f"connector '{name}' has no method '{step.Method}'")]
    if (step.Type == "Webhook") != (method.MethodType == "Webhook"):
        kind = "a Webhook step needs" if step.Type == "Webhook" else "a Method step cannot call"
        return [Problem(f"{path}.Method", f"{kind} a Webhook method; '{step.Method}' is "
                                          f"{'a Webhook' if method.MethodType == 'Webhook' else 'an Action'}")]
    return []


def graph_problems(spec: TemplateSpec) -> list[Problem]:
    """The step graph: ids unique, every exit names a step, no step reachable from itself,
    every step reachable from the trigger (the first step). Linear in steps and exits."""
    problems: list[Problem] = []
    uses = Counter(s.Id for s in spec.Steps)
    for i, step in enumerate(spec.Steps):
        if uses[step.Id] > 1:
            problems.append(Problem(f"$.Steps[{i}].Id", f"step id '{step.Id}' is used more than once"))
        for name, target in step.exits():
            if target not in uses:
                problems.append(Problem(f"$.Steps[{i}].{name}", f"no step has the id '{target}'"))
    if len(uses) < len(spec.Steps):
        return problems  # which step an exit leads to is ambiguous until the ids are unique
    graph = StepGraph.of(spec)
    for hops in graph.loops():
        last, name = hops[-1]
        first = spec.Steps[hops[0][0]].Id
        route = _route([spec.Steps[i].Id for i, _ in hops] + [first])
        problems.append(Problem(f"$.Steps[{last}].{name}", f"step '{first}' is reachable from itself ({route})"))
    reached = set(graph.reached_from(0))
    trigger = spec.Steps[0].Id
    for i, step in enumerate(spec.Steps):
        if i not in reached:
            problems.append(Problem(f"$.Steps[{i}].Id",
                                    f"step '{step.Id}' cannot be reached from the trigger step '{trigger}'"))
    return problems


ROUTE_SHOWN = 10  # steps of a loop named in its problem; a longer one is shortened in the middle


def _route(ids: list[str]) -> str:
    if len(ids) > ROUTE_SHOWN:
        ids = [*ids[:ROUTE_SHOWN // 2], f"… {len(ids) - ROUTE_SHOWN} more …", *ids[-(ROUTE_SHOWN // 2):]]
    return " → ".join(ids)


def check_mapping(path: str, graph: StepGraph, step: StepSpec, mapping: MappingSpec,
                  methods: dict[str, Method | None]) -> list[Problem]:
    """A mapping must fill a field the step takes, from fields of steps a transaction passed."""
    problems = []
    method = methods.get(step.Id)
    if isinstance(mapping, FieldMappingSpec) and method is not None and mapping.Field not in target_fields(method):
        problems.append(Problem(f"{path}.Field", f"method '{method.UniqueIdentifier}' has no field '{mapping.Field}'"))
    if mapping.MappingType in ("StepField", "ValueList"):
        problems += _source_problems(path, mapping.SourceStep, mapping.SourceField, graph, step, methods)
    if mapping.MappingType == "Expression":
        for source, field in field_references(mapping.Expression or ""):
            problems += [Problem(f"{path}.Expression", p.message)
                         for p in _source_problems(path, source, field, graph, step, methods)]
    return problems


def static_value_problems(method: Method | None, mapping: MappingSpec) -> list[Problem]:
    """A StaticValue set for one field (PUT …/fieldmappings/{field}) must be a value the field
    takes: one of its Values when it lists them, and of its DataType."""
    if not isinstance(mapping, FieldMappingSpec) or mapping.MappingType != "StaticValue" or mapping.Value is None \
            or method is None:
        return []
    field = next((f for f in method.request_fields if f.SystemField == mapping.Field), None)
    if field is None:
        return []
    allowed = [str(v) for v in field.Values]
    if allowed and str(mapping.Value) not in allowed:
        return [Problem("$.Value", f"'{mapping.Value}' is not a value '{mapping.Field}' takes: "
                                   + ", ".join(f"'{v}'" for v in allowed))]
    if field.DataType not in ("Text", "File"):
        try:
            as_type(mapping.Value, field.DataType)
        except ValueError:
            article = "an" if field.DataType[0] in "AEIOU" else "a"
            return [Problem("$.Value", f"'{mapping.Field}' takes {article} {field.DataType}: "
                                       f"'{mapping.Value}' is not one")]
    return []


def _source_problems(path: str, source: str | None, field: str | None, graph: StepGraph, step: StepSpec,
                     methods: dict[str, Method | None]) -> list[Problem]:
    if source not in graph.position:
        return [Problem(f"{path}.SourceStep", f"no step has the id '{source}'")]
    if not graph.comes_before(source, step.Id):
        return [Problem(f"{path}.SourceStep", f"step '{source}' does not come before this step on any path")]
    fields = source_fields(graph.steps[graph.position[source]], methods.get(source))
    if fields is not None and field not in fields:
        return [Problem(f"{path}.SourceField", f"step '{source}' gives no field '{field}'")]
    return []


def source_fields(step: StepSpec, method: Method | None) -> set[str] | None:
    """The fields a step's record has; None when any may be there (an untyped webhook's event)."""
    if method is not None:
        return {f.SystemField for f in method.response_fields}
    return {"Decision": {"Result"}, "Storage": {"Key", "Value"}, "WaitUntil": {"WakeAt"},
            "Delay": set()}.get(step.Type)


def target_fields(method: Method) -> set[str]:
    """What a mapping can fill: request fields, and method parameters by name."""
    fields = {f.SystemField for f in method.request_fields}
    fields |= {p.key for p in method.Parameters if settable(p)}  # what a step's call may set
    return {f for f in fields if f}


# Versions: a template's `version` and `document` are its latest; every version is kept in
# TemplateVersion, so a cycle keeps the one it installed.

NEW_VERSION_ATTEMPTS = 5


def version_document(db: Session, template: Template, version: int) -> dict[str, Any] | None:
    """The document of one version of the template; None when it has no such version."""
    row = db.get(TemplateVersion, (template.id, version))
    if row is not None:
        return row.document
    return template.document if version == template.version else None  # saved before versions were kept


def versions(db: Session, template: Template) -> list[TemplateVersion]:
    rows = list(db.exec(select(TemplateVersion).where(TemplateVersion.template_id == template.id)
                        .order_by(TemplateVersion.version)))
    if not any(r.version == template.version for r in rows):  # saved before versions were kept
        rows.append(_legacy_version(template))
    return rows


def _legacy_version(template: Template) -> TemplateVersion:
    return TemplateVersion(template_id=template.id, version=template.version, document=template.document,
                           created_at=template.created_at)


def new_version(db: Session, template: Template, spec: TemplateSpec) -> Template:
    """Validate the document as `create` does, then save it as the template's next version.
    Cycles installed before keep theirs; installing from now on uses this one."""
    problems = check(db, spec)
    if problems:
        raise Invalid(problems)
    document = spec.model_dump(exclude_none=True)
    for attempt in range(NEW_VERSION_ATTEMPTS):
        latest = template.version
        if db.get(TemplateVersion, (template.id, latest)) is None:
            db.add(_legacy_version(template))
        db.add(TemplateVersion(template_id=template.id, version=latest + 1, document=document))
        template.name, template.version, template.document = spec.Name, latest + 1, document
        try:
            db.commit()
            return template
        except IntegrityError:  # another update took that number first: take the next
            db.rollback()
            db.refresh(template)
            if attempt == NEW_VERSION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def from_cycle(db: Session, cycle: Cycle, name: str | None = None) -> Template:
    """A new template: the cycle's template version, with the cycle's current field mappings
    in its Method steps (in the template's order of fields, then those the cycle added)."""
    from store import cycles  # store.cycles imports this module

    spec = cycles.template_of(db, cycle.id)
    rows = {s.template_step_id: s for s in cycles.steps(db, cycle.id)}
    steps: list[StepSpec] = []
    for step in spec.Steps:
        row = rows.get(step.Id)
        if step.Type == "Method" and row is not None:
            order = {m.Field: i for i, m in enumerate(step.FieldMappings)}
            current = cycles.step_spec(row, cycles.mappings(db, row.id)).FieldMappings
            ranked = sorted(enumerate(current), key=lambda e: (order.get(e[1].Field, len(order)), e[0]))
            step = step.model_copy(update={"FieldMappings": [m for _, m in ranked]})
        steps.append(step)
    document = spec.model_copy(update={"Name": name or cycle.name, "Steps": steps}).model_dump(exclude_none=True)
    return create(db, parse_template(document))


def delete(db: Session, template: Template) -> None:
    """The template and its versions; Conflict, naming them, while cycles are installed from it."""
    refuse_while_cycles(db, Cycle.template_id == template.id,
                        lambda n: f"template '{template.name}' has {n} cycle(s) installed from it: delete them first",
                        "was installed from it")
    db.execute(delete_rows(TemplateVersion).where(TemplateVersion.template_id == template.id))
    db.delete(template)
    db.commit()
