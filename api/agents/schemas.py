"""Tool names and JSON Schemas (draft 2020-12) made from a connector method: its settable
parameters and request fields are the tool's input, its response fields each record's shape."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from connectors import Connector, FieldSpec, Method, Parameter
from connectors.call import call_parameters, settable

NAME_LENGTH = 64  # what MCP clients take everywhere (the protocol allows 128)
KEY_ARGUMENT = "_key"  # a write's idempotency key, when the client chooses it
CURSOR_ARGUMENT = "_cursor"  # a read's next page: the NextCursor of the page before
JSON_TYPES = {"Text": "string", "Integer": "integer", "Decimal": "number", "Float": "number",
              "Boolean": "boolean", "DateTime": "string", "File": "string"}

Target = Literal["Parameters", "Fields"]


def tool_name(connector: str, method: str, taken: set[str], unique: str) -> str:
    """`<connector>_<method>`, lower case, letters, digits and underscores, at most NAME_LENGTH
    characters; a name already `taken` (or one cut short) ends with a digest of `unique`."""
    name = re.sub(r"[^a-z0-9]+", "_", f"{connector}_{method}".lower()).strip("_") or "tool"
    if len(name) > NAME_LENGTH or name in taken:
        digest = hashlib.sha256(unique.encode()).hexdigest()[:8]
        name = f"{name[:NAME_LENGTH - 9].rstrip('_')}_{digest}"
    return name


def _described(schema: dict[str, Any], *parts: str | None) -> dict[str, Any]:
    text = ". ".join(p for p in parts if p)
    return {**schema, "description": text} if text else schema


def _field_input(field: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": JSON_TYPES[field.DataType]}
    if field.Values:
        schema["enum"] = list(field.Values)
    if field.DataType == "DateTime" and not field.Format:
        schema["format"] = "date-time"
    if field.DefaultValue is not None and "{{" not in str(field.DefaultValue):
        schema["default"] = field.DefaultValue
    title = field.DisplayField or field.SystemField
    return _described({"title": title, **schema}, field.Description,
                      f"a date and time as {field.Format}" if field.DataType == "DateTime" and field.Format else None)


def _parameter_input(param: Parameter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": JSON_TYPES[param.DataType or "Text"]}
    if param.Values:
        schema["enum"] = list(param.Values)
    return _described({"title": param.key or param.TargetName, **schema}, param.Description,
                      f"sent as the {param.TargetType} '{param.TargetName}'" if param.TargetName else None)


def _required(field: FieldSpec) -> bool:
    return not field.IsOptional and field.DefaultValue is None


@dataclass(frozen=True)
class Arguments:
    """A tool's input schema, and where each of its arguments goes in the method's call."""

    schema: dict[str, Any]
    targets: dict[str, tuple[Target, str]]  # argument -> ("Parameters" | "Fields", its name there)

    def split(self, arguments: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The call's {"Parameters": …, "Fields": …} from the tool's arguments (parameters as text)."""
        call: dict[str, dict[str, Any]] = {"Parameters": {}, "Fields": {}}
        for argument, value in arguments.items():
            target, name = self.targets.get(argument, ("Fields", argument))
            call[target][name] = value if target == "Fields" or isinstance(value, list) else _text(value)
        return call


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def input_schema(connector: Connector, method: Method, write: bool) -> Arguments:
    """The request fields by SystemField; the settable parameters by name (a name a field
    already has gets the suffix `_parameter`); `_key` for a write, `_cursor` for a read."""
    properties: dict[str, Any] = {}
    targets: dict[str, tuple[Target, str]] = {}
    required: list[str] = []
    for field in (method.RequestFormat.Fields if method.RequestFormat else []):
        properties[field.SystemField] = _field_input(field)
        targets[field.SystemField] = ("Fields", field.SystemField)
        if _required(field):
            required.append(field.SystemField)
    for param in call_parameters(connector, method):
        if not settable(param) or param.TargetType in ("ResponseField", "FilterField"):
            continue
        name = param.key or param.TargetName or ""
        argument = f"{name}_parameter" if name in properties else name
        properties[argument] = _parameter_input(param)
        targets[argument] = ("Parameters", name)
        if not param.IsOptional and param.DefaultValue is None:
            required.append(argument)
    if write:
        properties[KEY_ARGUMENT] = {"type": "string", "minLength": 1, "maxLength": 200, "description":
                                    "the call's idempotency key: a call repeated with the same key is one write "
                                    "(without it, the MCP request's id and the arguments are the key)"}
    else:
        properties[CURSOR_ARGUMENT] = {"type": "object", "description":
                                       "the NextCursor a page answered with: reads the page after it"}
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return Arguments(schema, targets)


def record_schema(method: Method) -> dict[str, Any]:
    """One record of the method's answer: its response fields by SystemField (a value the
    answer lacks is null; one the answer nests is kept as it is)."""
    properties = {
        field.SystemField: _described({"title": field.DisplayField or field.SystemField,
                                       "type": sorted({JSON_TYPES[field.DataType], "null", "array", "object"})},
                                      field.Description)
        for field in (method.ResponseFormat.Fields if method.ResponseFormat else [])
    }
    return {"type": "object", "properties": properties}


def read_output_schema(method: Method) -> dict[str, Any]:
    return {"type": "object", "required": ["Records", "Truncated", "NextCursor", "Warnings"], "properties": {
        "Records": {"type": "array", "items": record_schema(method)},
        "Truncated": {"type": "boolean", "description": "true: the page had more records than the answer shows"},
        "NextCursor": {"type": ["object", "null"], "description": "send it as _cursor to read the next page"},
        "Warnings": {"type": "array", "items": {"type": "string"}},
    }}


def write_output_schema(method: Method) -> dict[str, Any]:
    status = ["AwaitingApproval", "Running", "Completed", "Failed", "Rejected", "Expired"]
    link = {"type": ["string", "null"]}
    return {"type": "object", "required": ["Id", "Status"], "properties": {
        "Id": {"type": "string", "description": "the tool call's id"},
        "Status": {"type": "string", "enum": status},
        "Result": {"type": ["array", "null"], "items": record_schema(method),
                   "description": "once Completed: the method's records"},
        "ResultTruncated": {"type": "boolean"},
        "Error": {"type": ["string", "null"], "description": "why it failed, was rejected or expired"},
        "ExpiresAt": {"type": ["string", "null"], "description": "when an unanswered approval expires"},
        "Links": {"type": "object", "description": "the REST routes to poll, approve or reject the call",
                  "properties": {"Self": {"type": "string"}, "Approve": link, "Reject": link}},
    }}
