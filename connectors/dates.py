""".NET-style date formats, as connector files write them: yyyy MM dd HH mm ss fff Z."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType

_TOKENS = [("yyyy", "%Y"), ("fff", "%f"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
           ("ss", "%S"), ("Z", "Z")]
ISO = "yyyy-MM-ddTHH:mm:ssZ"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # {{LastSuccessfulRunDate}} before the first success
# The mergefields of a call outside any run (data on demand, an AuthTestMethod, an agent's tool call).
OUTSIDE_A_RUN = MappingProxyType({"LastSuccessfulRunDate": EPOCH})  # read-only: shared by every such call


@lru_cache(maxsize=256)
def _strftime(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        for token, replacement in _TOKENS:
            if pattern.startswith(token, i):
                out += replacement
                i += len(token)
                break
        else:
            out += pattern[i].replace("%", "%%")
            i += 1
    return out


def format_datetime(value: datetime, pattern: str = ISO) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value
    # strftime's %f is microseconds; .NET's fff is milliseconds.
    return value.strftime(_strftime(pattern).replace("%f", f"{value.microsecond // 1000:03d}"))


def as_utc(value: datetime) -> datetime:
    """`value` as an aware datetime: one that names no zone is taken as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime(text: str, pattern: str | None = None) -> datetime:
    """`text` in `pattern` (ISO 8601 when None), as an aware datetime (UTC when it names no zone)."""
    if not pattern:
        return as_utc(datetime.fromisoformat(text))
    try:
        return as_utc(datetime.strptime(text, _strftime(pattern)))
    except re.error:  # strptime makes the format a regular expression: a part named twice fails it
        raise BadFormat(f"the format '{pattern}' names a part of the date twice: no date reads in it") from None


class BadFormat(ValueError):
    """A format no date can be read in."""


def format_problem(pattern: str) -> str | None:
    """Why no date can be read in `pattern` (one naming a part twice, as 'dd dd'); None if one can."""
    try:
        parse_datetime("", pattern)
    except BadFormat as err:
        return str(err)
    except ValueError:  # "" is no date: the format itself is fine
        pass
    return None
