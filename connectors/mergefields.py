"""Mergefields: {{Name}} and {{Name format=yyyy-MM-ddTHH:mm:ssZ}} in endpoints, values and bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.dates import ISO, format_datetime
from connectors.errors import MissingMergefield

PATTERN = re.compile(r"\{\{\s*([A-Za-z_][\w]*)(?:\s+format=([^}]*))?\s*\}\}")
BUILT_INS = {"LastSuccessfulRunDate", "Auth_ApiKey", "Auth_Username", "Auth_Password", "Webhook_Url",
             "Webhook_Id"}


def names(text: str) -> set[str]:
    return {match.group(1) for match in PATTERN.finditer(text or "")}


def _text(value: Any, pattern: str | None) -> str:
    if isinstance(value, datetime):
        return format_datetime(value, pattern or ISO)
    return "" if value is None else str(value)


def render(text: str, values: Mapping[str, Any]) -> str:
    """Replace every mergefield; a name without a value raises MissingMergefield."""

    def replace(match: re.Match) -> str:
        name, pattern = match.group(1), match.group(2)
        if name not in values:
            raise MissingMergefield(f"mergefield '{{{{{name}}}}}' has no value")
        return _text(values[name], pattern.strip() if pattern else None)

    return PATTERN.sub(replace, text)
