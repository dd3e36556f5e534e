"""Templates: validated against the connectors they name before they are saved."""

from __future__ import annotations

from collections import deque
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete as delete_rows
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connectors import Connector, Method, Problem
from connectors.call import settable
from connectors.mergefields import field_references
from connectors.scripts import check_syntax
from store.connectors import refuse_while_cycles, release_by_name, spec_of
from store.problems import Invalid, json_path, plain
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


def methods_of(db: Session, spec: TemplateSpec) -> dict[str, Method | None]:
    """Each step's connector method: None where the step calls none, or names one not found."""
    found: dict[str, Method | None] = {}
    for step in spec.Steps:
        connector = _connector(db, step)
        found[step.Id] = next((m for m in connector.Methods if m.UniqueIdentifier == step.Method), None) \
            if connector else None
    return found


def _connector(db: Session, step: StepSpec) -> Connector | None:
    name = getattr(step, "Connector", None)
    release = release_by_name(db, name, step.Version) if name else None
    return spec_of(release) if release else None


def check(db: Session, spec: TemplateSpec) -> list[Problem]:
    problems = graph_problems(spec)
    methods = methods_of(db, spec)
    ancestors = ancestors_of(spec)
    for i, step in enumerate(spec.Steps):
        path = f"$.Steps[{i}]"
        if i > 0 and step.Type == "Webhook":
            problems.append(Problem(f"{path}.Type", "only the first step (the trigger) may be a Webhook"))
        if i == 0 and step.Type not in ("Method", "Webhook"):
            problems.append(Problem(f"{path}.Type", "the first step (the trigger) must be a Method or a Webhook"))
        problems += _method_problems(db, path, step, methods)
        if (script := getattr(step, "Script", None)) and (problem := check_syntax(script)):
            problems.append(Problem(f"{path}.Script", f"the script does not parse: {problem}"))
        for where, mapping in step.sources():
            problems += check_mapping(f"{path}.{where}", spec, step, mapping, methods, ancestors[step.Id])
    return problems


def _method_problems(db: Session, path: str, step: StepSpec, methods: dict[str, Method | None]) -> list[Problem]:
    name = getattr(step, "Connector", None)
    if name is None:
        return []
    if release_by_name(db, name, step.Version) is None:
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


def ancestors_of(spec: TemplateSpec) -> dict[str, set[str]]:
    """For each step, the steps a transaction may have passed before reaching it."""
    ids = {s.Id for s in spec.Steps}
    exits = {s.Id: [(n, t) for n, t in s.exits() if t in ids] for s in spec.Steps}
    return {s.Id: {o.Id for o in spec.Steps if o.Id != s.Id and s.Id in _reachable_from(o.Id, exits)}
            for s in spec.Steps}


def graph_problems(spec: TemplateSpec) -> list[Problem]:
    """The step graph: ids unique, every exit names a step, no step reachable from itself,
    every step reachable from the trigger (the first step)."""
    problems: list[Problem] = []
    ids = [s.Id for s in spec.Steps]
    for i, step in enumerate(spec.Steps):
        if ids.count(step.Id) > 1:
            problems.append(Problem(f"$.Steps[{i}].Id", f"step id '{step.Id}' is used more than once"))
        for name, target in step.exits():
            if target not in ids:
                problems.append(Problem(f"$.Steps[{i}].{name}", f"no step has the id '{target}'"))
    if len(set(ids)) < len(ids):
        return problems  # which step an exit leads to is ambiguous until the ids are unique
    position = {step.Id: i for i, step in enumerate(spec.Steps)}
    exits = {step.Id: [(n, t) for n, t in step.exits() if t in position] for step in spec.Steps}
    for step in spec.Steps:
        loop = _loop_from(step.Id, exits)
        if loop:
            last, name = loop[-1]
            route = " → ".join([s for s, _ in loop] + [step.Id])
            problems.append(Problem(f"$.Steps[{position[last]}].{name}",
                                    f"step '{step.Id}' is reachable from itself ({route})"))
    trigger = spec.Steps[0].Id
    reached = _reachable_from(trigger, exits)
    for i, step in enumerate(spec.Steps):
        if step.Id not in reached:
            problems.append(Problem(f"$.Steps[{i}].Id",
                                    f"step '{step.Id}' cannot be reached from the trigger step '{trigger}'"))
    return problems


def _loop_from(start: str, exits: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]] | None:
    """The shortest way from a step back to itself, as (step id, exit taken) hops; None if none."""
    seen = {start}
    queue: deque[tuple[str, list[tuple[str, str]]]] = deque([(start, [])])
    while queue:
        step, hops = queue.popleft()
        for name, target in exits[step]:
            route = [*hops, (step, name)]
            if target == start:
                return route
            if target not in seen:
                seen.add(target)
                queue.append((target, route))
    return None


def _reachable_from(start: str, exits: dict[str, list[tuple[str, str]]]) -> set[str]:
    reached, todo = {start}, [start]
    while todo:
        for _, target in exits[todo.pop()]:
            if target not in reached:
                reached.add(target)
                todo.append(target)
    return reached


def check_mapping(path: str, spec: TemplateSpec, step: StepSpec, mapping: MappingSpec,
                  methods: dict[str, Method | None], earlier: set[str]) -> list[Problem]:
    """A mapping must fill a field the step takes, from fields of steps a transaction passed."""
    problems = []
    method = methods.get(step.Id)
    if isinstance(mapping, FieldMappingSpec) and method is not None and mapping.Field not in target_fields(method):
        problems.append(Problem(f"{path}.Field", f"method '{method.UniqueIdentifier}' has no field '{mapping.Field}'"))
    steps = {s.Id: s for s in spec.Steps}
    if mapping.MappingType in ("StepField", "ValueList"):
        problems += _source_problems(path, mapping.SourceStep, mapping.SourceField, steps, methods, earlier)
    if mapping.MappingType == "Expression":
        for source, field in field_references(mapping.Expression or ""):
            problems += [Problem(f"{path}.Expression", p.message)
                         for p in _source_problems(path, source, field, steps, methods, earlier)]
    return problems


def _source_problems(path: str, source: str | None, field: str | None, steps: dict[str, StepSpec],
                     methods: dict[str, Method | None], earlier: set[str]) -> list[Problem]:
    if source not in steps:
        return [Problem(f"{path}.SourceStep", f"no step has the id '{source}'")]
    if source not in earlier:
        return [Problem(f"{path}.SourceStep", f"step '{source}' does not come before this step on any path")]
    fields = source_fields(steps[source], methods.get(source))
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
