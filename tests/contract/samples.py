"""Values a vendor's own document gives for an operation's inputs: its examples first, then its
enums and defaults, then a value of the declared type and format."""

from __future__ import annotations

import re
from typing import Any

from connectors.paths import parse_path

FORMATS = {"email": "someone@example.com", "uri": "https://example.com/hook", "url": "https://example.com/hook",
           "date-time": "2024-05-01T12:00:00Z", "date": "2024-05-01", "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}
TYPES = {"integer": 1, "number": 1.5, "boolean": True, "string": "example", "array": [], "object": {}}
UNKNOWN = object()  # the document says nothing that gives a value


def resolve(spec: dict[str, Any], node: Any, depth: int = 0) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") and depth < 64:
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target[int(part)] if isinstance(target, list) else target[part]
        node, depth = target, depth + 1
    return node


def _variants(spec: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and its allOf parts, or its first oneOf/anyOf variant that is not null."""
    found = [schema]
    for part in schema.get("allOf") or []:
        found += _variants(spec, resolve(spec, part))
    for key in ("oneOf", "anyOf"):
        options = [resolve(spec, o) for o in schema.get(key) or []]
        options = [o for o in options if isinstance(o, dict) and o.get("type") != "null" and not o.get("nullable") is False]
        if options:
            found += _variants(spec, options[0])
    return found


def _kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind or ("object" if "properties" in schema else "array" if "items" in schema else None)


def example_of(spec: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """An example the document gives for `schema` (or its parts), else UNKNOWN."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 8:
        return UNKNOWN
    for part in _variants(spec, schema):
        if "example" in part and part["example"] is not None:
            return part["example"]
        if isinstance(part.get("examples"), list) and part["examples"]:
            return part["examples"][0]
        for key in ("enum", "const", "default"):
            if key == "enum" and part.get("enum"):
                return next((v for v in part["enum"] if v is not None), UNKNOWN)
            if key != "enum" and part.get(key) is not None:
                return part[key]
    return UNKNOWN


def sample(spec: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """A value for `schema`: its example, else one of its type and format."""
    found = example_of(spec, schema, depth)
    if found is not UNKNOWN:
        return found
    schema = resolve(spec, schema)
    parts = _variants(spec, schema) if isinstance(schema, dict) else [{}]
    for part in parts:
        if part.get("format") in FORMATS and _kind(part) in (None, "string"):
            return FORMATS[part["format"]]
    kinds = [k for k in (_kind(p) for p in parts) if k]
    kind = kinds[0] if kinds else "string"
    if kind == "object" and depth < 4:
        merged = {}
        for part in parts:
            for name in part.get("required") or []:
                child = next((p["properties"][name] for p in parts if name in (p.get("properties") or {})), {})
                merged[name] = sample(spec, child, depth + 1)
        return merged
    if kind == "array" and depth < 4:  # one item: a required list is rarely allowed empty
        items = next((p["items"] for p in parts if isinstance(p.get("items"), dict)), {})
        return [sample(spec, items, depth + 1)]
    if kind == "string":
        minimum = max((p.get("minLength") or 0 for p in parts), default=0)
        return "example".ljust(minimum, "x")
    return TYPES.get(kind, "example")


def field_schema(spec: dict[str, Any], schema: Any, connector_field: str) -> Any:
    """The schema at a ConnectorField path inside a body schema (None when it has none)."""
    node = resolve(spec, schema)
    for segment in parse_path(connector_field):
        if segment.is_array:
            if segment.name:
                node = _property(spec, node, segment.name)
            node = _items(spec, node)
        else:
            node = _property(spec, node, segment.name)
        if node is None:
            return None
    return node


def _property(spec: dict[str, Any], schema: Any, name: str) -> Any:
    for part in _variants(spec, resolve(spec, schema)) if isinstance(resolve(spec, schema), dict) else []:
        if name in (part.get("properties") or {}):
            return resolve(spec, part["properties"][name])
    return None


def _items(spec: dict[str, Any], schema: Any) -> Any:
    for part in _variants(spec, resolve(spec, schema)) if isinstance(resolve(spec, schema), dict) else []:
        if "items" in part:
            return resolve(spec, part["items"])
    return None


def parameters(spec: dict[str, Any], verb: str, route: str) -> list[dict[str, Any]]:
    """The operation's parameters, the path item's included, `$ref`s resolved."""
    item = spec["paths"][route]
    found = {}
    for owner in (item, item[verb]):
        for parameter in owner.get("parameters") or []:
            parameter = resolve(spec, parameter)
            found[(parameter.get("name"), parameter.get("in"))] = parameter
    return list(found.values())


def parameter_schema(spec: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    if "schema" in parameter:
        return resolve(spec, parameter["schema"])
    for media in (parameter.get("content") or {}).values():
        return resolve(spec, media.get("schema") or {})
    return parameter  # Swagger 2.0: the parameter is its own schema


def parameter_example(spec: dict[str, Any], parameter: dict[str, Any]) -> Any:
    """The parameter's own example(s), else its schema's; UNKNOWN when the document gives none."""
    if parameter.get("example") is not None:
        return parameter["example"]
    for example in (parameter.get("examples") or {}).values():
        example = resolve(spec, example)
        if isinstance(example, dict) and example.get("value") is not None:
            return example["value"]
    return example_of(spec, parameter_schema(spec, parameter))


def text(value: Any) -> str:
    """A parameter value as a URL carries it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(text(v) for v in value)
    return str(value)


def path_values(spec: dict[str, Any], verb: str, route: str, endpoint: str) -> dict[str, str]:
    """A value for each mergefield in the endpoint's path, from the document's path parameter at
    the same place."""
    ours = endpoint.removeprefix("{{BaseUrl}}").split("?")[0].strip("/").split("/")
    theirs = route.strip("/").split("/")[-len(ours):]
    by_name = {p.get("name"): p for p in parameters(spec, verb, route) if p.get("in") == "path"}
    values = {}
    for mine, their in zip(ours, theirs, strict=True):
        name = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", mine)
        declared = re.fullmatch(r"\{([^{}]+)\}", their)
        if name and declared:
            parameter = by_name.get(declared[1], {"schema": {"type": "string"}})
            found = parameter_example(spec, parameter)
            values[name[1]] = text(found if found is not UNKNOWN else sample(spec, parameter_schema(spec, parameter)))
    return values


def body_schema(spec: dict[str, Any], verb: str, route: str) -> dict[str, Any] | None:
    """The operation's request body schema (JSON or form; Swagger 2.0's body or formData too)."""
    operation = spec["paths"][route][verb]
    if "requestBody" in operation:
        content = resolve(spec, operation["requestBody"]).get("content") or {}
        for media, body in content.items():
            if "json" in media or "form" in media:
                return resolve(spec, body.get("schema") or {})
        return None
    declared = parameters(spec, verb, route)
    body = next((p for p in declared if p.get("in") == "body"), None)
    if body:
        return resolve(spec, body.get("schema") or {})
    form = [p for p in declared if p.get("in") == "formData"]
    if form:
        return {"type": "object", "properties": {p["name"]: p for p in form},
                "required": [p["name"] for p in form if p.get("required")]}
    return None
