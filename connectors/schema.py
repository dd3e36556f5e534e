"""The connector JSON Schema, for editors: `cyclewright connector schema` writes the catalog copy,
and a test fails when that copy differs from what the models make.

It accepts exactly what loading a connector accepts wherever JSON Schema can say it: the
models' schema, Cyclr's properties that loading ignores or renames, and the rules of
validation.py that are about one object (tests/unit/test_connector_corpus.py holds both to one
corpus). What needs the whole document is validation.py's alone: unknown mergefields, names
used twice, references to methods and triggers, scripts, date formats, misspelt paging values
that are not CYCLR_ words, paging tokens without their pair, and field paths that cannot match
together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors import cyclr, paging, paths
from connectors.spec import Connector

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_END = r"(?![\s\S])"  # the end of the text; Python's $ (jsonschema's) also matches before a final newline
_CONTROLS = (*paging.CONTROLS, r"PAGE_TOKEN_[\s\S]+")  # and PAGE_TOKEN_<suffix>
_CONTROL = rf"^(?:CYCLR_)?(?:{'|'.join(_CONTROLS)}){_END}"


def _values_holding(*controls: str) -> dict[str, Any]:
    """A parameter whose Values hold one of `controls` (with or without CYCLR_)."""
    pattern = rf"^(?:CYCLR_)?(?:{'|'.join(controls)}){_END}"
    return {"required": ["Values"], "properties": {"Values": {"contains": {"type": "string", "pattern": pattern}}}}


def _set(*names: str) -> dict[str, Any]:
    """Each of `names` present and not null."""
    return {"required": list(names), "properties": {name: {"not": {"type": "null"}} for name in names}}


def connector_json_schema() -> dict:
    schema = {"$schema": DIALECT, **Connector.model_json_schema(by_alias=True), "title": "Cyclewright connector"}
    defs = schema["$defs"]

    def definition(model: type) -> dict[str, Any]:
        return schema if model is Connector else defs[model.__name__]

    # Editors accept the Cyclr properties that loading accepts: ignored, or read under another name.
    for model in cyclr.IGNORED:
        for name in sorted(cyclr.ignored(model)):
            definition(model)["properties"][name] = {"description": cyclr.MESSAGE}
    for model, names in cyclr.RENAMED.items():
        for name, ours in names.items():
            definition(model)["properties"][name] = {**definition(model)["properties"][ours],
                                                     "description": f"Cyclr's name for {ours}"}

    # One line with no control character (the model's pattern, without an end anchor: see _END).
    schema["properties"]["Name"] = {"type": "string", "minLength": 1, "maxLength": 200,
                                    "not": {"pattern": r"[\x00-\x1f\x7f]"}}
    defs["Method"]["properties"]["UniqueIdentifier"]["pattern"] = "^[^/]*$"  # the API names methods in URLs
    for model, name in (("FieldSpec", "ConnectorField"), ("Trigger", "IdentifierKey"), ("Trigger", "HumanReadableKey")):
        defs[model]["properties"][name]["pattern"] = paths.PATTERN

    schema["properties"]["Authentication"] |= {  # one IsDefault at most
        "contains": {"required": ["IsDefault"], "properties": {"IsDefault": {"const": True}}},
        "minContains": 0, "maxContains": 1}
    defs["Authentication"] |= {
        "if": {"required": ["AuthType"], "properties": {"AuthType": {"const": "ApiKey"}}},
        "then": {"required": ["ApiKeyName"], "properties": {"ApiKeyName": {"type": "string", "minLength": 1}}}}
    defs["RateLimit"]["anyOf"] = [_set("MaxRequests", "TimeFrame"), _set("MinTimeBetweenRequestsMs")]

    parameter = defs["Parameter"]
    parameter["properties"]["Values"]["items"] |= {  # a CYCLR_ word is a paging control, spelt right
        "if": {"type": "string", "pattern": "^CYCLR_"}, "then": {"pattern": _CONTROL}}
    sent = {"properties": {"TargetType": {"enum": list(paging.SENT)}}}
    read = {"required": ["TargetType"], "properties": {"TargetType": {"const": "ResponseField"}}}
    parameter["allOf"] = [  # each control where it does something
        {"if": _values_holding("PAGE_NEXT_URL"), "then": read},
        {"if": _values_holding("PAGE_NUMBER", "PAGE_OFFSET", "PAGE_SIZE"), "then": sent},
        {"if": _values_holding("PAGE_TOKEN", _CONTROLS[-1]), "then": {"properties": {"TargetType": {"enum": [*paging.SENT, "ResponseField"]}}}},
        {"if": {"allOf": [_values_holding(*_CONTROLS), read]},  # paging reads one value
         "then": {"properties": {"TargetName": {"not": {"type": "string", "pattern": r"\["}}}}},
    ]
    return schema


def missing_properties(written: dict, current: dict) -> list[str]:
    """What the models have that a written schema lacks: `Definition.Property` for each."""
    missing = []
    for name, definition in {"Connector": current, **current.get("$defs", {})}.items():
        have = written if name == "Connector" else written.get("$defs", {}).get(name, {})
        missing += [f"{name}.{p}" for p in definition.get("properties", {}) if p not in have.get("properties", {})]
    return missing


CATALOG_COPY = Path(__file__).resolve().parent.parent / "catalog" / "connector.schema.json"
