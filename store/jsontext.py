"""JSON as the database stores it: orjson (records are written and read at wire speed), with
the standard library for the little orjson refuses, so anything that was storable still is."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer past 64 bits, say
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN or Infinity, as the standard library used to write them
        return json.loads(text)
