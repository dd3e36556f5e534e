"""Field DataType conversion: checked on the way out, lenient on the way in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.dates import format_datetime, parse_datetime
from connectors.encoding import file_of
from connectors.errors import FieldValueError

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _text(value: Any) -> str:
    """Text as JSON spells it: a boolean is true or false (str would make it True or False)."""
    return "true" if value is True else "false" if value is False else str(value)


def _integer(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)  # int() would silently drop the fraction
    return int(value)


def _datetime_out(value: Any, field: Any) -> str:
    """A DateTime as the API wants it: in the field's Format, else ISO 8601."""
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    return format_datetime(moment, field.Format) if field.Format else moment.isoformat()


def _datetime_in(value: Any, field: Any) -> str:
    """A DateTime as records carry it: ISO 8601, read with the field's Format."""
    return parse_datetime(str(value), field.Format).isoformat()


def _file(value: Any) -> Any:
    file_of(value)  # ValueError when it is not a file
    return value


_CONVERTERS = {
    "Text": _text,
    "Integer": _integer,
    "Decimal": float,
    "Float": float,
    "Boolean": _boolean,
    "File": _file,
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
    if isinstance(value, list) or (isinstance(value, dict) and field.DataType != "File"):
        return value
    try:
        if field.DataType == "DateTime":
            converted = _datetime_out(value, field)
        else:
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
        if field.DataType == "DateTime":
            return _datetime_in(value, field)
        return _CONVERTERS[field.DataType](value)
    except (TypeError, ValueError):
        return value


def as_type(value: Any, data_type: str) -> Any:
    """`value` as `data_type` (a DateTime as an aware datetime); ValueError when it is not one."""
    if data_type == "DateTime":
        return value if isinstance(value, datetime) else parse_datetime(str(value))
    try:
        return _CONVERTERS[data_type](value)
    except TypeError:
        raise ValueError(value) from None
