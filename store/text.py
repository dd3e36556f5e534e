"""Bounded strings for what the API stores: names, values and secrets, and IANA time zones.

Every string a caller can store is bounded (so no one row can make every listing huge) and
free of control characters where it names something (a NUL or a newline in a name breaks
logs, exports and UIs that show it).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from pydantic import AfterValidator, StringConstraints

NAME_LENGTH = 200
VALUE_LENGTH = 10_000
SECRET_LENGTH = 8_192
IMAGE_LENGTH = 65_536
LINE_BREAKS = "\t\n\r"


def _no_controls(allowed: str = "") -> AfterValidator:
    def check(value: str) -> str:
        bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in allowed), None)
        if bad is not None:
            raise ValueError(f"must not contain control characters (found U+{ord(bad):04X})")
        return value

    return AfterValidator(check)


def _image(value: str) -> str:
    parts = urlsplit(value)
    if not value.startswith("data:image/") and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ValueError("must be an http(s) URL or a data:image/ URI")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"'{value}' is not an IANA time zone (e.g. 'Europe/London', 'UTC')")
    return value


# A name shown to people: one line, 1 to 200 characters.
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH), _no_controls()]
# A value a mapping or property holds: may span lines.
Value = Annotated[str, StringConstraints(max_length=VALUE_LENGTH), _no_controls(LINE_BREAKS)]
# A credential: one line.
Secret = Annotated[str, StringConstraints(max_length=SECRET_LENGTH), _no_controls()]
# A picture a UI shows (a logo, an icon): an http(s) URL or a data:image/ URI, up to 64 KiB.
Image = Annotated[str, StringConstraints(max_length=IMAGE_LENGTH), AfterValidator(_image)]
Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
