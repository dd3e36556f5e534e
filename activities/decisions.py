"""A Decision's condition over one transaction: typed comparison by the Left field's DataType."""

from __future__ import annotations

from typing import Any

from activities.mappings import Records, converted, value_of
from connectors.errors import FieldValueError
from store import patterns
from store.template_spec import Condition


def decide(condition: Condition, records: Records, variables: dict[str, str]) -> bool:
    left = value_of(condition.Left, records, variables)
    operator = condition.Operator
    present = left is not None and left != "" and left != []
    if operator == "Exists":
        return present
    if operator == "NotExists":
        return not present
    right = value_of(condition.Right, records, variables)
    if not present:
        return operator == "NotEquals"  # nothing equals, contains or exceeds a missing value
    if right is None and operator in ("Contains", "Matches"):
        return False  # a missing operand, not the text "None"
    if operator == "Contains":
        return _contains(left, right)
    if operator == "Matches":
        return _pattern(str(right)).search(str(left)) is not None  # RE2: linear in the value, however long
    kind = condition.DataType or _kind(left)
    try:
        a, b = _typed(left, kind), _typed(right, kind)
    except FieldValueError as err:
        raise FieldValueError(f"the decision compares as {kind}: {err}") from None
    if operator == "Equals":
        return a == b
    if operator == "NotEquals":
        return a != b
    if a is None or b is None:
        return False
    return a > b if operator == "GreaterThan" else a < b


def _kind(value: Any) -> str:
    """The type a value of unknown DataType compares as: what the record holds."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Decimal"
    return "Text"


def _typed(value: Any, kind: str) -> Any:
    if kind in ("Integer", "Float"):
        kind = "Decimal"  # 2 equals 2.0
    if kind == "Text":
        return None if value is None else str(value)
    return converted(value, kind)


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, list):
        return any(str(item) == str(right) for item in left)
    return str(right) in str(left)


def _pattern(text: str) -> Any:
    try:
        return patterns.compiled(text)
    except patterns.BadPattern as err:  # a variable's, or a field's, value
        shown = text if len(text) <= 100 else f"{text[:100]}…"
        raise FieldValueError(f"the pattern {shown!r}: {err}") from None
