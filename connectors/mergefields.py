"""Mergefields: {{Name}} and {{Name format=yyyy-MM-ddTHH:mm:ssZ}} in endpoints, values and bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.errors import MissingMergefield

PATTERN = re.compile(r"\{\{\s*([A-Za-z_][\w]*)(?:\s+format=([^}]*))?\s*\}\}")
BUILT_INS = {"LastSuccessfulRunDate", "Auth_ApiKey", "Auth_Username", "Auth_Password", "Webhook_Url",
             "Webhook_Id"}

# .NET-style date tokens used in connector files, longest first.
_TOKENS = [("yyyy", "%Y"), ("fff", "{ms}"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
           ("ss", "%S"), ("Z", "Z")]


def names(text: str) -> set[str]:
    return {match.group(1) for match in PATTERN.finditer(text or "")}


def format_datetime(value: datetime, pattern: str) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value
    out, i = "", 0
    while i < len(pattern):
        for token, replacement in _TOKENS:
            if pattern.startswith(token, i):
                out += value.strftime(replacement) if "%" in replacement else replacement.format(
                    ms=f"{value.microsecond // 1000:03d}")
                i += len(token)
                break
        else:
            out += pattern[i]
            i += 1
    return out


def _text(value: Any, pattern: str | None) -> str:
    if isinstance(value, datetime):
        return format_datetime(value, pattern or "yyyy-MM-ddTHH:mm:ssZ")
    return "" if value is None else str(value)


def render(text: str, values: Mapping[str, Any]) -> str:
    """Replace every mergefield; a name without a value raises MissingMergefield."""

    def replace(match: re.Match) -> str:
        name, pattern = match.group(1), match.group(2)
        if name not in values:
            raise MissingMergefield(f"mergefield '{{{{{name}}}}}' has no value")
        return _text(values[name], pattern.strip() if pattern else None)

    return PATTERN.sub(replace, text)
