"""Mergefields: {{Name}} and {{Name format=yyyy-MM-ddTHH:mm:ssZ}} in endpoints, values and bodies."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from connectors.dates import ISO, format_datetime, parse_datetime
from connectors.encoding import path_segment
from connectors.errors import MissingMergefield

# Both patterns read what partners and accounts write (endpoints, values, Expressions), so each
# leaves Python's re one way to match, and no backtracking to do: linear in the text. (A step id
# has no dot where a reference splits: the first dot splits it, as a lazy id would.)
PATTERN = re.compile(r"\{\{\s*([A-Za-z_]\w*)(?:\s+format=([^}]*)|\s*)\}\}")
BUILT_INS = {"LastSuccessfulRunDate", "Auth_ApiKey", "Auth_Username", "Auth_Password", "Webhook_Url",
             "Webhook_Id"}


@lru_cache(maxsize=4096)
def names(text: str) -> frozenset[str]:
    """The mergefields `text` names. Cached: a connector's endpoints and values are read on every call."""
    return frozenset(match.group(1) for match in PATTERN.finditer(text or ""))


def _text(value: Any, pattern: str | None) -> str:
    if isinstance(value, datetime):
        return format_datetime(value, pattern or ISO)
    return "" if value is None else str(value)


def render(text: str, values: Mapping[str, Any], encoded: Collection[str] = ()) -> str:
    """Replace every mergefield; a name without a value raises MissingMergefield. The values of
    the names in `encoded` are percent-encoded as one URL path segment each."""

    def replace(match: re.Match) -> str:
        name, pattern = match.group(1), match.group(2)
        if name not in values:
            raise MissingMergefield(f"mergefield '{{{{{name}}}}}' has no value")
        text = _text(values[name], pattern.strip() if pattern else None)
        return path_segment(text) if name in encoded else text

    return PATTERN.sub(replace, text)


def fill(text: str, values: Mapping[str, Any]) -> str:
    """`text` with the mergefields `values` has replaced, the others left for later."""
    return PATTERN.sub(lambda m: _text(values[m.group(1)], m.group(2) and m.group(2).strip())
                       if m.group(1) in values else m.group(0), text)


# In template Expressions a mergefield names an earlier step's field: {{StepId.Field}}, with
# the same optional format= for dates. Step ids and fields may hold any character but braces.
FIELD_PATTERN = re.compile(r"\{\{\s*([^\s{}.]+)\.([^\s{}]+)(?:\s+format=([^}]*)|\s*)\}\}")


def field_references(text: str) -> list[tuple[str, str]]:
    """The (step id, field) each {{StepId.Field}} of `text` names."""
    return [(m.group(1), m.group(2)) for m in FIELD_PATTERN.finditer(text or "")]


def rename_field(text: str, step: str, old: str, new: str) -> str:
    """`text` with each {{step.old}} (and {{step.old format=…}}) naming {{step.new}} instead."""

    def replace(match: re.Match) -> str:
        if (match.group(1), match.group(2)) != (step, old):
            return match.group(0)
        start, end = match.start(2) - match.start(0), match.end(2) - match.start(0)
        return match.group(0)[:start] + new + match.group(0)[end:]

    return FIELD_PATTERN.sub(replace, text)


def render_fields(text: str, lookup: Callable[[str, str], Any]) -> str:
    """`text` with each {{StepId.Field}} replaced by `lookup(step, field)`; a value that is
    missing renders empty, and a date-time value in its format= (ISO 8601 by default)."""

    def replace(match: re.Match) -> str:
        value, pattern = lookup(match.group(1), match.group(2)), match.group(3)
        if pattern and isinstance(value, str):
            try:
                value = parse_datetime(value)
            except ValueError:
                pass  # not a date: shown as it is
        return _text(value, pattern.strip() if pattern else None)

    return FIELD_PATTERN.sub(replace, text)
