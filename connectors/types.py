"""Field DataType conversion: checked on the way out, lenient on the way in."""

from __future__ import annotations

from typing import Any

from connectors.errors import FieldValueError

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _integer(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)  # int() would silently drop the fraction
    return int(value)


_CONVERTERS = {
    "Text": str,
    "Integer": _integer,
    "Decimal": float,
    "Float": float,
    "Boolean": _boolean,
    "DateTime": str,
}


def convert(value: Any, field: Any) -> Any:
    """A request value as the field's DataType; a clear error naming the field when it is not."""
    if value is None or value == "":
        if field.DefaultValue is not None:
            value = field.DefaultValue
        elif field.IsOptional:
            return None
        else:
            raise FieldValueError(f"required field '{field.SystemField}' has no value")
    if isinstance(value, (dict, list)):
        return value
    try:
        converted = _CONVERTERS[field.DataType](value)
    except (TypeError, ValueError):
        raise FieldValueError(
            f"field '{field.SystemField}': {value!r} is not a valid {field.DataType}"
        ) from None
    if field.Values and converted not in field.Values:
        raise FieldValueError(f"field '{field.SystemField}': {value!r} is not one of {field.Values}")
    return converted


def from_response(value: Any, field: Any) -> Any:
    """A response value as the field's DataType where it converts; as received where it does not."""
    if value is None or isinstance(value, (dict, list)) or (type(value) is str and field.DataType == "Text"):
        return value
    try:
        return _CONVERTERS[field.DataType](value)
    except (TypeError, ValueError):
        return value
