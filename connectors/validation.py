"""Loading a connector document: every problem at once, each with its JSON path."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError

from connectors import cyclr, mergefields
from connectors.dates import format_problem
from connectors.paths import parse_path
from connectors.scripts import check_syntax
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
    """The connector a document describes; Cyclr properties it does not use are left out."""
    if not isinstance(document, dict):
        raise ConnectorInvalid([Problem("$", "a connector must be a JSON object")])
    from connectors import partner_webhooks, post_install  # they need this module

    problems = list(_semantic_problems(document))
    try:
        connector = Connector.model_validate(_without_ignored(Connector, document, "$", []))
    except ValidationError as err:
        problems = [_problem(e) for e in err.errors(include_url=False)] + problems
        connector = None
    else:
        problems += [*post_install.problems(connector), *partner_webhooks.problems(connector)]
    if problems:
        raise ConnectorInvalid(_unique(problems))
    return connector


def ignored_properties(document: Any) -> list[Problem]:
    """The Cyclr properties of `document` that loading it leaves out, each as a notice."""
    ignored: list[Problem] = []
    _without_ignored(Connector, document, "$", ignored)
    return ignored


def _without_ignored(model: type[Spec], node: Any, path: str, ignored: list[Problem]) -> Any:
    """`node` without the Cyclr properties `model` ignores (at every level), noting each in `ignored`."""
    if isinstance(node, list):
        return [_without_ignored(model, item, f"{path}[{i}]", ignored) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    kept = {}
    for key, value in node.items():
        if key in cyclr.ignored(model):
            ignored.append(Problem(f"{path}.{key}", cyclr.MESSAGE))
            continue
        child = _child_model(model, key)
        kept[key] = _without_ignored(child, value, f"{path}.{key}", ignored) if child else value
    return kept


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
        for kind in ("RequestFormat", "ResponseFormat"):
            fmt = method.get(kind) if isinstance(method.get(kind), dict) else {}
            fields = _list(fmt.get("Fields"))
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
    if isinstance(source, str) and source.strip() and (problem := check_syntax(source)):
        yield Problem(path, f"the script does not parse: {problem}")


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


def _trigger_name_problems(path: str, items: list[dict], triggers: set) -> Iterator[Problem]:
    """Parameters and fields whose TriggerName names no trigger of the connector."""
    for i, item in enumerate(items):
        name = item.get("TriggerName")
        if name is not None and name not in triggers:
            yield Problem(f"{path}[{i}].TriggerName", f"the connector has no trigger named '{name}'")


def _parameter_problems(path: str, params: list[dict], known: set) -> Iterator[Problem]:
    for i, param in enumerate(params):
        yield from _unknown_mergefields(f"{path}[{i}].DefaultValue", param.get("DefaultValue"), known)


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
