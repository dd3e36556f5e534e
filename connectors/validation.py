"""Loading a connector document: every problem at once, each with its JSON path."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from pydantic import ValidationError

from connectors import cyclr, mergefields, paging, scripts
from connectors.call import IGNORE
from connectors.dates import format_problem
from connectors.paths import parse_path, shape_conflicts
from connectors.spec import Connector, Spec


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


class ConnectorInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


WEBHOOK_MERGEFIELDS = {"Webhook_Url", "Webhook_Id"}
_MESSAGES = {"missing": "is required"}


def json_path(loc: tuple) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def parse_connector(document: Any) -> Connector:
    """The connector a document describes, checked against every rule (catalog/connector.schema.json
    says as many of them as JSON Schema can); Cyclr properties it does not use are left out, and
    those Cyclewright names otherwise are read under its name. JSON types are taken as they are:
    "true" is not a boolean, nor "10" a number."""
    if not isinstance(document, dict):
        raise ConnectorInvalid([Problem("$", "a connector must be a JSON object")])
    from connectors import inputs, partner_webhooks, post_install  # they need this module

    problems = list(_semantic_problems(document))
    try:
        connector = Connector.model_validate(_as_cyclewright(Connector, document, "$", []), strict=True)
    except ValidationError as err:
        problems = [_problem(e) for e in err.errors(include_url=False)] + problems
        connector = None
    else:
        problems += [*post_install.problems(connector), *partner_webhooks.problems(connector),
                     *inputs.problems(connector)]
    if problems:
        raise ConnectorInvalid(_unique(problems))
    return connector


def load_connector(document: dict[str, Any]) -> Connector:
    """A stored connector document (parse_connector accepted it once) as it was accepted: not held
    to rules added since, so that a release cycles run on keeps loading."""
    return Connector.model_validate(_as_cyclewright(Connector, document, "$", []))


def ignored_properties(document: Any) -> list[Problem]:
    """The Cyclr properties of `document` that loading it leaves out, each as a notice."""
    ignored: list[Problem] = []
    _as_cyclewright(Connector, document, "$", ignored)
    return ignored


def _as_cyclewright(model: type[Spec], node: Any, path: str, ignored: list[Problem]) -> Any:
    """`node` (of `model`) as Cyclewright reads it, at every level: Cyclr's names for its
    properties replaced by its own, and Cyclr properties it ignores left out (noted in `ignored`)."""
    if isinstance(node, list):
        return [_as_cyclewright(model, item, f"{path}[{i}]", ignored) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    left_out, renamed, children = _reading(model)
    kept = {}
    for key, value in node.items():
        if key in left_out or (key in renamed and renamed[key] in node):
            ignored.append(Problem(f"{path}.{key}", cyclr.MESSAGE if key not in renamed else
                                   cyclr.both_given(renamed[key])))
            continue
        key = renamed.get(key, key)
        child = children.get(key)
        kept[key] = _as_cyclewright(child, value, f"{path}.{key}", ignored) if child else value
    return kept


@cache
def _reading(model: type[Spec]) -> tuple[frozenset[str], dict[str, str], dict[str, type[Spec]]]:
    """What reading an object of `model` takes: the Cyclr properties it leaves out, those it
    renames, and the model of each property that holds objects."""
    children = {name: child for name in model.model_fields if (child := _child_model(model, name))}
    return cyclr.ignored(model), cyclr.renamed(model), children


def _child_model(model: type[Spec], name: Any) -> type[Spec] | None:
    """The Spec model of property `name` of `model` (of its elements, for a list), if it has one."""
    field = model.model_fields.get(name) if isinstance(name, str) else None
    if field is None:
        return None
    for candidate in (field.annotation, *get_args(field.annotation)):  # X, list[X], X | None
        if isinstance(candidate, type) and issubclass(candidate, Spec):
            return candidate
    return None


def _problem(error: dict) -> Problem:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        return Problem(json_path(loc), _unknown_property(loc))
    return Problem(json_path(loc), _MESSAGES.get(error["type"], error["msg"]))


def _unknown_property(loc: tuple) -> str:
    """An unknown property's message, suggesting the model's property nearest in spelling."""
    model: type[Spec] | None = Connector
    for part in loc[:-1]:
        if model is not None and isinstance(part, str):
            model = _child_model(model, part)
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields) if model else [], n=1)
    return f"unknown property; did you mean '{close[0]}'?" if close else "unknown property"


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _list(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _semantic_problems(doc: dict) -> Iterator[Problem]:
    """What the schema alone cannot see; read defensively, since the document may be malformed."""
    connector_params = _list(doc.get("Parameters"))
    known = mergefields.BUILT_INS | {p.get("Name") for p in connector_params if p.get("Name")}
    known |= {"ClientId", "ClientSecret"}
    defaults = [i for i, a in enumerate(_list(doc.get("Authentication"))) if a.get("IsDefault")]
    if len(defaults) > 1:
        yield Problem("$.Authentication", "only one authentication may be IsDefault")
    for i, auth in enumerate(_list(doc.get("Authentication"))):
        if auth.get("AuthType") == "ApiKey" and not auth.get("ApiKeyName"):
            yield Problem(f"$.Authentication[{i}].ApiKeyName", "an ApiKey authentication needs an ApiKeyName")
        for url in ("AuthoriseUrl", "AccessTokenUrl", "RefreshUrl"):
            yield from _unknown_mergefields(f"$.Authentication[{i}].{url}", auth.get(url), known - WEBHOOK_MERGEFIELDS)
    yield from _script_problems("$.Script", doc.get("Script"))
    yield from _rate_limit_problems("$", doc)
    yield from _parameter_problems("$.Parameters", connector_params, known)
    method_ids = {m.get("UniqueIdentifier") for m in _list(doc.get("Methods"))}
    if doc.get("AuthTestMethod") is not None and doc["AuthTestMethod"] not in method_ids:
        yield Problem("$.AuthTestMethod", f"no method has the UniqueIdentifier '{doc['AuthTestMethod']}'")
    yield from _trigger_problems(_list(doc.get("Triggers")), method_ids)
    triggers = {t.get("Name") for t in _list(doc.get("Triggers"))}
    yield from _trigger_name_problems("$.Parameters", connector_params, triggers)
    seen: set[str] = set()
    subscribers = _subscription_methods(_list(doc.get("Methods")))
    for i, method in enumerate(_list(doc.get("Methods"))):
        path = f"$.Methods[{i}]"
        uid = method.get("UniqueIdentifier")
        if uid in seen:
            yield Problem(f"{path}.UniqueIdentifier", f"'{uid}' is used by another method")
        if isinstance(uid, str) and "/" in uid:
            yield Problem(f"{path}.UniqueIdentifier", f"'{uid}' holds a '/': the API names a method in its URLs "
                                                      f"(/methods/{{UniqueIdentifier}}), so it could not be called")
        seen.add(uid)
        params = _list(method.get("Parameters"))
        method_known = known | {p.get("Name") or p.get("TargetName") for p in params}
        if uid not in subscribers and method.get("MethodType") != "Webhook":  # no webhook to name
            method_known -= WEBHOOK_MERGEFIELDS
        yield from _script_problems(f"{path}.Script", method.get("Script"))
        yield from _unknown_mergefields(f"{path}.Endpoint", method.get("Endpoint"), method_known)
        yield from _parameter_problems(f"{path}.Parameters", params, method_known)
        yield from _rate_limit_problems(path, method)
        yield from _trigger_name_problems(f"{path}.Parameters", params, triggers)
        applying = _applying(connector_params, params, f"{path}.Parameters")
        yield from _paging_problems(applying, method.get("PagedInbound", doc.get("PagedInbound")) is True)
        for kind in ("RequestFormat", "ResponseFormat"):
            fmt = method.get(kind) if isinstance(method.get(kind), dict) else {}
            fields = _list(fmt.get("Fields"))
            read = [(f"{path}.{kind}.Fields[{j}].ConnectorField", f.get("ConnectorField"))
                    for j, f in enumerate(fields)]
            if kind == "ResponseFormat":  # paging reads from the same body
                read += [(f"{place}.TargetName", p.get("TargetName")) for place, p in _paging_reads(applying)]
            yield from _shape_problems(read)
            for j, field in enumerate(fields):
                yield from _path_problems(f"{path}.{kind}.Fields[{j}].ConnectorField", field.get("ConnectorField"))
                if isinstance(field.get("Format"), str) and (problem := format_problem(field["Format"])):
                    yield Problem(f"{path}.{kind}.Fields[{j}].Format", problem)
                yield from _unknown_mergefields(f"{path}.{kind}.Fields[{j}].DefaultValue", field.get("DefaultValue"),
                                                method_known)
            yield from _trigger_name_problems(f"{path}.{kind}.Fields", fields, triggers)
            lookup = fmt.get("CustomFieldsLookupMethod")
            if lookup is not None and lookup not in method_ids:
                yield Problem(f"{path}.{kind}.CustomFieldsLookupMethod",
                              f"no method has the UniqueIdentifier '{lookup}'")


def _subscription_methods(methods: list[dict]) -> set[str]:
    """The methods a Webhook method subscribes and unsubscribes with."""
    return {m.get(k) for m in methods if m.get("MethodType") == "Webhook"
            for k in ("CreateWebhookMethod", "DeleteWebhookMethod") if m.get(k)}


def _script_problems(path: str, source: Any) -> Iterator[Problem]:
    if isinstance(source, str) and source.strip():
        yield from (Problem(path, problem) for problem in scripts.problems(source))


def _path_problems(path: str, text: Any) -> Iterator[Problem]:
    if text is not None and not isinstance(text, str):
        return  # the schema says what it must be
    try:
        parse_path(text or "")
    except ValueError as err:
        yield Problem(path, str(err))


def _trigger_problems(triggers: list[dict], method_ids: set) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, trigger in enumerate(triggers):
        path = f"$.Triggers[{i}]"
        if trigger.get("Name") in seen:
            yield Problem(f"{path}.Name", f"'{trigger['Name']}' is the name of another trigger")
        seen.add(trigger.get("Name"))
        if "Method" in trigger and trigger["Method"] not in method_ids:
            yield Problem(f"{path}.Method", f"no method has the UniqueIdentifier '{trigger['Method']}'")
        for key in ("IdentifierKey", "HumanReadableKey"):
            if key in trigger:
                yield from _path_problems(f"{path}.{key}", trigger[key])
        yield from _shape_problems([(f"{path}.{key}", trigger.get(key)) for key in ("IdentifierKey", "HumanReadableKey")])


def _trigger_name_problems(path: str, items: list[dict], triggers: set) -> Iterator[Problem]:
    """Parameters and fields whose TriggerName names no trigger of the connector."""
    for i, item in enumerate(items):
        name = item.get("TriggerName")
        if name is not None and name not in triggers:
            yield Problem(f"{path}[{i}].TriggerName", f"the connector has no trigger named '{name}'")


def _applying(connector_params: list[dict], params: list[dict], path: str) -> list[tuple[str, dict]]:
    """The parameters a method's call applies, each with its JSON path: the connector's that
    the method does not override by name, then the method's own (unless IGNORE_PARAMETER)."""
    own = {_key(p) for p in params}
    return [(f"$.Parameters[{i}]", p) for i, p in enumerate(connector_params) if _key(p) not in own] + \
        [(f"{path}[{i}]", p) for i, p in enumerate(params) if p.get("DefaultValue") != IGNORE]


def _key(param: dict) -> Any:
    return param.get("Name") or param.get("TargetName")


def _controls(param: dict) -> list[str]:
    values = param.get("Values") if isinstance(param.get("Values"), list) else []
    return [c for c in map(paging.known_control, (v for v in values if isinstance(v, str))) if c]


def _paging_reads(applying: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The ResponseField parameters that paging reads a next URL or a token with."""
    return [(place, p) for place, p in applying if p.get("TargetType") == "ResponseField" and _controls(p)
            and isinstance(p.get("TargetName"), str)]


def _paging_problems(applying: list[tuple[str, dict]], paged: bool) -> Iterator[Problem]:
    """Cursor parameters of a paged method that cannot work together."""
    if paged:
        unpaired = paging.unpaired_tokens((p.get("TargetType"), c) for _, p in applying for c in _controls(p))
        for place, param in applying:
            yield from (Problem(f"{place}.Values", unpaired[c]) for c in _controls(param) if c in unpaired)


def _parameter_problems(path: str, params: list[dict], known: set) -> Iterator[Problem]:
    for i, param in enumerate(params):
        yield from _unknown_mergefields(f"{path}[{i}].DefaultValue", param.get("DefaultValue"), known)
        values = param.get("Values") if isinstance(param.get("Values"), list) else []
        for j, value in enumerate(values):
            if isinstance(value, str) and (problem := paging.value_problem(value)):
                yield Problem(f"{path}[{i}].Values[{j}]", problem)
        for control in _controls(param):
            if problem := paging.placement_problem(str(param.get("TargetType")), control):
                yield Problem(f"{path}[{i}].Values", problem)
        read = param.get("TargetName") if param.get("TargetType") == "ResponseField" and _controls(param) else None
        if isinstance(read, str) and "[" in read:
            yield Problem(f"{path}[{i}].TargetName", f"'{read}' passes through an array, but paging reads one "
                                                     "value from each response")


def _shape_problems(paths: list[tuple[str, Any]]) -> Iterator[Problem]:
    """Paths into one body, (JSON path, path text), that read a property both as an array and as
    an object: one of them can never match."""
    texts = [text if isinstance(text, str) else "" for _, text in paths]
    for index, conflict in shape_conflicts(texts).items():
        what, other = ("an array", "an object") if conflict.as_array else ("an object", "an array")
        name = f"'{conflict.name}'" if conflict.name else "the body"
        yield Problem(paths[index][0], f"'{texts[index]}' reads {name} as {what}, but '{texts[conflict.earlier]}' "
                                       f"({paths[conflict.earlier][0]}) reads it as {other}: both cannot match")


def _unknown_mergefields(path: str, text: Any, known: set) -> Iterator[Problem]:
    if isinstance(text, str):
        for name in sorted(mergefields.names(text) - known):
            yield Problem(path, f"unknown mergefield '{{{{{name}}}}}': no parameter, property or "
                                "built-in has that name")


def _rate_limit_problems(path: str, owner: dict) -> Iterator[Problem]:
    for i, limit in enumerate(_list(owner.get("RateLimits"))):
        counted = limit.get("MaxRequests") is not None and limit.get("TimeFrame") is not None
        if not counted and limit.get("MinTimeBetweenRequestsMs") is None:
            yield Problem(f"{path}.RateLimits[{i}]",
                          "give MaxRequests with TimeFrame, or MinTimeBetweenRequestsMs")
