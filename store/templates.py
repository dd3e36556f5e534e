"""Templates: validated against the connectors they name before they are saved."""

from __future__ import annotations

from collections import deque
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from connectors import Method, Problem
from connectors.call import settable
from store.connectors import release_by_name, spec_of
from store.problems import Invalid
from store.tables import Template
from store.template_spec import MappingSpec, StepSpec, TemplateSpec


def parse_template(document: Any) -> TemplateSpec:
    try:
        return TemplateSpec.model_validate(document)
    except ValidationError as err:
        raise Invalid([_problem(e) for e in err.errors()]) from None


def _problem(error: dict[str, Any]) -> Problem:
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    return Problem(path, error["msg"])


def create(db: Session, spec: TemplateSpec) -> Template:
    problems = check(db, spec)
    if problems:
        raise Invalid(problems)
    template = Template(name=spec.Name, document=spec.model_dump(exclude_none=True))
    db.add(template)
    db.commit()
    return template


def methods_of(db: Session, spec: TemplateSpec) -> dict[str, Method | None]:
    """Each step's connector method, or None where the connector or method is unknown."""
    found: dict[str, Method | None] = {}
    for step in spec.Steps:
        release = release_by_name(db, step.Connector, step.Version)
        connector = spec_of(release) if release else None
        found[step.Id] = next((m for m in connector.Methods if m.UniqueIdentifier == step.Method), None) \
            if connector else None
    return found


def check(db: Session, spec: TemplateSpec) -> list[Problem]:
    problems = graph_problems(spec)
    methods = methods_of(db, spec)
    for i, step in enumerate(spec.Steps):
        path = f"$.Steps[{i}]"
        if release_by_name(db, step.Connector, step.Version) is None:
            version = f" with version {step.Version}" if step.Version else ""
            problems.append(Problem(f"{path}.Connector", f"no connector named '{step.Connector}'{version}"))
            continue
        if methods[step.Id] is None:
            problems.append(Problem(f"{path}.Method",
                                    f"connector '{step.Connector}' has no method '{step.Method}'"))
            continue
        for j, mapping in enumerate(step.FieldMappings):
            problems += check_mapping(f"{path}.FieldMappings[{j}]", step, mapping.Field, mapping, methods)
    return problems


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


def check_mapping(
    path: str, step: StepSpec, field: str, mapping: MappingSpec, methods: dict[str, Method | None]
) -> list[Problem]:
    """A mapping must fill a field the method takes, from a field an earlier step gives."""
    method = methods[step.Id]
    problems = []
    if method is not None and field not in target_fields(method):
        problems.append(Problem(f"{path}.Field", f"method '{method.UniqueIdentifier}' has no field '{field}'"))
    if mapping.MappingType == "StaticValue" and mapping.Value is None:
        problems.append(Problem(f"{path}.Value", "a StaticValue mapping needs a Value"))
    if mapping.MappingType == "StepField":
        source = methods.get(mapping.SourceStep or "")
        if mapping.SourceStep not in methods:
            problems.append(Problem(f"{path}.SourceStep", f"no step has the id '{mapping.SourceStep}'"))
        elif source is not None and mapping.SourceField not in {f.SystemField for f in source.response_fields}:
            problems.append(Problem(f"{path}.SourceField",
                                    f"step '{mapping.SourceStep}' returns no field '{mapping.SourceField}'"))
    return problems


def target_fields(method: Method) -> set[str]:
    """What a mapping can fill: request fields, and method parameters by name."""
    fields = {f.SystemField for f in method.request_fields}
    fields |= {p.key for p in method.Parameters if settable(p)}  # what a step's call may set
    return {f for f in fields if f}
