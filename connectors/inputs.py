"""A call's input checked before anything is sent: the caller's error, not the upstream's.

Required path, query and header parameters and required request fields must have a value
(a parameter or field with a DefaultValue, or marked IsOptional, need not); a value must be
one of the connector's Values where it lists them, and of its DataType where it declares one.
Every problem is named at once, by where the caller gives it: `$.Parameters.<name>` or
`$.Fields.<SystemField>`. Messages name fields and allowed values, never a given value (it
may be a record's).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.errors import InvalidInput
from connectors.mergefields import names
from connectors.spec import Connector, FieldSpec, Method, Parameter
from connectors.types import as_type

FILE_BODIES = ("Multipart", "Binary")
if TYPE_CHECKING:
    from connectors.validation import Problem

KINDS = {"MergeField": "path parameter", "QueryString": "query parameter", "HttpHeader": "header parameter"}


@dataclass(frozen=True)
class Required:
    """One parameter a call (or a step's mapping) must give."""

    key: str
    kind: str  # "path parameter", "query parameter", "header parameter"


def required_parameters(method: Method, params: Iterable[Parameter], settable: Collection[str]) -> list[Required]:
    """The parameters among `params` (those a caller may set: `settable`) that need a value:
    path parameters the Endpoint names, and query and header parameters, that are neither
    optional nor defaulted."""
    in_url = names(method.Endpoint)
    return [Required(p.key, KINDS[p.TargetType]) for p in params
            if p.key in settable and p.TargetType in KINDS and not p.IsOptional and p.DefaultValue is None
            and (p.TargetType != "MergeField" or p.key in in_url)]


def check(method: Method, params: list[Parameter], settable: Collection[str], parameters: Mapping[str, Any],
          fields: Mapping[str, Any], known: Callable[[str], bool], required: list[Required]) -> None:
    """InvalidInput naming every missing or unacceptable parameter and field; `known` tells the
    mergefields the call has values for without the caller (properties, built-ins), `required`
    are the method's `required_parameters`."""
    problems: list[tuple[str, str]] = []
    for need in required:
        if _blank(parameters.get(need.key)) and not known(need.key):
            problems.append((f"$.Parameters.{need.key}", f"required {need.kind} '{need.key}' has no value"))
    for param in params:
        value = parameters.get(param.key, parameters.get(param.TargetName or ""))
        if param.key not in settable or _blank(value):
            continue
        if isinstance(value, list) and param.TargetType not in ("QueryString", "HttpHeader"):
            only = "a list is only for a query or header parameter"
            problems.append((f"$.Parameters.{param.key}", f"parameter '{param.key}': {only}"))
            continue
        problems += [(f"$.Parameters.{param.key}", f"parameter '{param.key}': {problem}")
                     for problem in _value_problems(value, param.DataType, param.Values)]
    for field in method.request_fields:
        value = fields.get(field.SystemField)
        if _blank(value):
            if not field.IsOptional and field.DefaultValue is None:
                problems.append((f"$.Fields.{field.SystemField}", f"required field '{field.SystemField}' has no value"))
            continue
        problems += [(f"$.Fields.{field.SystemField}", f"field '{field.SystemField}': {problem}")
                     for problem in _field_problems(value, field)]
    if problems:
        raise InvalidInput(problems)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _field_problems(value: Any, field: FieldSpec) -> list[str]:
    if not field.Values and field.DataType in (None, "Text"):
        return []  # anything goes (the common case: checked without a call per item)
    if isinstance(value, dict) and field.DataType != "File":
        return []  # an object the API takes as it is
    return _value_problems(value, field.DataType, field.Values)


def _value_problems(value: Any, data_type: str | None, allowed: list[Any]) -> list[str]:
    """What is wrong with a value (each item of a list): not of `data_type`, not one of `allowed`."""
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        converted = item
        if data_type and data_type != "Text":
            try:
                converted = as_type(item, data_type)
            except ValueError:
                found.append(f"a value is not a valid {data_type}")
                continue
        if allowed and converted not in allowed and str(converted) not in {str(a) for a in allowed}:
            found.append(f"a value is not one of the allowed values: {', '.join(repr(str(a)) for a in allowed)}")
    return list(dict.fromkeys(found))


def problems(connector: Connector) -> Iterator[Problem]:
    """Declarations that would send something other than what they say: a File field in a body
    that cannot carry a file, a Binary method that is not one File field, an Explode that
    changes nothing."""
    from connectors.validation import Problem  # it needs this module

    for i, method in enumerate(connector.Methods):
        at = f"$.Methods[{i}]"
        for j, field in enumerate(method.request_fields):
            if field.DataType == "File" and method.DataType not in FILE_BODIES:
                yield Problem(f"{at}.RequestFormat.Fields[{j}].DataType",
                              f"a File field is sent only by a Multipart or Binary method, not a {method.DataType} one")
        if method.DataType == "Binary" and [f.DataType for f in method.request_fields] != ["File"]:
            yield Problem(f"{at}.DataType", "a Binary method sends one file as its body: it needs exactly one request "
                                            "field, of DataType File")
        for j, param in enumerate(method.Parameters):
            if not param.Explode and param.TargetType != "QueryString":
                yield Problem(f"{at}.Parameters[{j}].Explode", "Explode is for a QueryString parameter given a list")
    for j, param in enumerate(connector.Parameters):
        if not param.Explode and param.TargetType != "QueryString":
            yield Problem(f"$.Parameters[{j}].Explode", "Explode is for a QueryString parameter given a list")
