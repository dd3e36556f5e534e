"""Mappings evaluated for one transaction: request fields, parameters, a decision's operands."""

from __future__ import annotations

from typing import Any

from connectors import Connector
from connectors.errors import FieldValueError
from connectors.mergefields import render_fields
from connectors.paths import parse_path, read
from connectors.types import as_type
from store.plans import StepPlan
from store.template_spec import MappingSpec

Records = dict[str, Any]  # step id -> that step's record (a list of them for an unsplit collection)


def field_value(records: Records, step: str, field: str) -> Any:
    """A field of an earlier step's record; None when the step was not on the transaction's
    path or gave no such field. From an unsplit collection, the list of each record's value."""
    record = records.get(step)
    if isinstance(record, list):
        return [_field(r, field) for r in record]
    return _field(record, field)


def _field(record: Any, field: str) -> Any:
    if not isinstance(record, dict):
        return None
    if field in record:
        return record[field]
    try:  # an untyped webhook event: a path into its body
        return read(record, parse_path(field))
    except ValueError:
        return None


def value_of(mapping: MappingSpec, records: Records, variables: dict[str, str]) -> Any:
    """The mapping's value for this transaction, converted to its DataType when it names one."""
    kind = mapping.MappingType
    if kind == "StaticValue":
        value = mapping.Value
    elif kind == "StepField":
        value = field_value(records, mapping.SourceStep, mapping.SourceField)
    elif kind == "Variable":
        value = variables.get(mapping.Variable)
    elif kind == "ValueList":
        value = _looked_up(mapping, field_value(records, mapping.SourceStep, mapping.SourceField))
    elif kind == "Expression":
        value = render_fields(mapping.Expression, lambda step, field: field_value(records, step, field))
    else:  # Ignore
        value = None
    return converted(value, mapping.DataType) if mapping.DataType else value


def _looked_up(mapping: MappingSpec, source: Any) -> Any:
    if isinstance(source, list):
        return [_looked_up(mapping, one) for one in source]
    key = str(source).lower() if isinstance(source, bool) else None if source is None else str(source)
    return mapping.Values.get(key, mapping.Default) if key is not None else mapping.Default


def converted(value: Any, data_type: str) -> Any:
    """`value` as `data_type`; a missing value stays missing."""
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return [converted(v, data_type) for v in value]
    try:
        return as_type(value, data_type)
    except ValueError:
        raise FieldValueError(f"{value!r} is not a valid {data_type}") from None


def mapped(step: StepPlan, connector: Connector, records: Records) -> tuple[dict, dict]:
    """Request fields, and method parameters, from the transaction's earlier records."""
    values = {m.Field: value_of(m, records, step.variables) for m in step.spec.FieldMappings
              if m.MappingType != "Ignore"}
    request = {f.SystemField for f in connector.method(step.method).request_fields}
    return ({k: v for k, v in values.items() if k in request},
            {k: _parameter(v) for k, v in values.items() if k not in request and v is not None})


def _parameter(value: Any) -> str | list[str]:
    """A parameter's value as text; a list (a query parameter's items) item by item."""
    if isinstance(value, list):
        return [_parameter(item) for item in value]  # type: ignore[misc]
    if isinstance(value, bool):
        return str(value).lower()
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
