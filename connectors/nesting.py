"""How deeply JSON may nest, wherever it enters: one bound, checked before anything recursive
sees the data.

Upstream bodies, script results, API bodies, webhook events, connector and OpenAPI documents
all pass through here. JSON text is measured by a linear scan before it is parsed, so Python's
json module (which recurses once per level) never meets a document deeper than MAX_DEPTH;
data that arrives already parsed (YAML, XML) is measured by an iterative walk. Too deep is
`TooDeep`, a non-retryable connector error: a 422 in the API, an Errored transaction or a
Failed run in a run.
"""

from __future__ import annotations

import json
from array import array
from itertools import accumulate
from typing import Any

from connectors.errors import ConnectorError

# Containers inside containers: {"a": [1]} is 2 deep. Real API data stays far below it (.NET's
# System.Text.Json stops at 64 as well), and the engine's own recursion stays far from Python's.
MAX_DEPTH = 64

_OPENING, _CLOSING = b"[{", b"]}"
# Once escaped backslashes and quotes are gone, only quotes and brackets tell the depth: the rest
# is dropped before strings are looked for. All of it in C, in a few passes over the text.
_NOT_KEPT = bytes(b for b in range(256) if b not in b'"' + _OPENING + _CLOSING)
# What is left once strings are gone: +1 for an opening bracket, -1 for a closing one (signed bytes).
_SIGNS = bytes.maketrans(_OPENING + _CLOSING, b"\x01\x01\xff\xff")


class TooDeep(ConnectorError):
    """Data nested deeper than MAX_DEPTH: never retried, as it will be as deep next time."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is nested deeper than {MAX_DEPTH} levels (the limit)")


def depth_of_text(text: str | bytes) -> int:
    """How deeply the JSON text nests: exact for valid JSON, and never less than the depth a
    parser reaches before it finds invalid JSON."""
    # An escape's backslash is dropped with what it escapes when that is a backslash or a quote,
    # alone otherwise (\\n, \\u00e9): left to right, as a parser reads them. Outside a string, where
    # a parser stops at the backslash, the brackets before it are left as they were.
    data = _utf8(text).replace(b"\\\\", b"").replace(b'\\"', b"")
    # Between quotes is a string (every other piece, from the second; the last may run to the end).
    signs = b"".join(data.translate(None, _NOT_KEPT).split(b'"')[::2]).translate(_SIGNS)
    return max(accumulate(array("b", b"\0" + signs)))  # from 0: never less, however it starts


def _utf8(text: str | bytes) -> bytes:
    """The text as UTF-8, as json.loads reads it (bytes may be UTF-16 or UTF-32 too)."""
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    encoding = json.detect_encoding(text)
    return text if encoding in ("utf-8", "utf-8-sig") else text.decode(encoding, "replace").encode()


def check_text(text: str | bytes, what: str, envelope: int = 0) -> None:
    """TooDeep (naming `what`) when the JSON text nests deeper than the bound; `envelope` levels
    of it are our own wrapping around the data, and do not count."""
    # No text nests deeper than it has opening brackets (counted in C, strings and all): most
    # records have too few to need the exact reading.
    opening = ("[", "{") if isinstance(text, str) else (b"[", b"{")  # in UTF-16 or 32 as well
    if sum(map(text.count, opening)) <= MAX_DEPTH + envelope:
        return
    if depth_of_text(text) > MAX_DEPTH + envelope:
        raise TooDeep(what)


def loads(text: str | bytes, what: str, envelope: int = 0) -> Any:
    """json.loads, after the text's depth is checked (check_text): TooDeep beyond the bound,
    ValueError for text that is not JSON."""
    check_text(text, what, envelope)
    return json.loads(text)


def check(value: Any, what: str) -> Any:
    """`value` (parsed already: YAML, XML) if it nests no deeper than the bound; TooDeep
    otherwise. Iterative; a container is walked again only when met deeper than before, so a
    YAML alias shared a million times costs little, and one that contains itself is too deep."""
    deepest: dict[int, int] = {}  # each container, by id: the deepest level it was checked at
    todo = [(value, 1)]
    while todo:
        node, level = todo.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list | tuple) else None
        if children is None or deepest.get(id(node), 0) >= level:
            continue
        if level > MAX_DEPTH:
            raise TooDeep(what)
        deepest[id(node)] = level
        todo.extend((child, level + 1) for child in children)
    return value
