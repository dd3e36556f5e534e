"""The connector JSON Schema, for editors: `cyclewright connector schema` writes the catalog copy,
and a test fails when that copy lacks anything the models have."""

from __future__ import annotations

from pathlib import Path

from connectors import cyclr
from connectors.spec import Connector


def connector_json_schema() -> dict:
    schema = Connector.model_json_schema(by_alias=True)
    schema["title"] = "Cyclewright connector"
    # Editors accept the Cyclr properties that loading accepts (and ignores).
    for model in cyclr.IGNORED:
        definition = schema if model is Connector else schema["$defs"][model.__name__]
        for name in sorted(cyclr.ignored(model)):
            definition["properties"][name] = {"description": cyclr.MESSAGE}
    return schema


def missing_properties(written: dict, current: dict) -> list[str]:
    """What the models have that a written schema lacks: `Definition.Property` for each."""
    missing = []
    for name, definition in {"Connector": current, **current.get("$defs", {})}.items():
        have = written if name == "Connector" else written.get("$defs", {}).get(name, {})
        missing += [f"{name}.{p}" for p in definition.get("properties", {}) if p not in have.get("properties", {})]
    return missing


CATALOG_COPY = Path(__file__).resolve().parent.parent / "catalog" / "connector.schema.json"
