"""ConnectorField paths: where a SystemField lives in a request or response body.

    id               a property of the record
    contact.company  a nested object
    [records].id     a property of each element of the array `records`
    [].id            a property of each element of the root array
    [a].[b].id       nested arrays (inner values come back as lists)
    \\odd.name\\       a literal property name containing dots
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from connectors.errors import StepError
from connectors.types import convert, from_response


@dataclass(frozen=True)
class Segment:
    name: str
    is_array: bool = False


Path = tuple[Segment, ...]


def _grammar() -> str:
    """The paths parse_path accepts, as a regular expression (for the JSON Schema; the same in
    ECMA-262 and Python, so the end is a lookahead: Python's $ also matches before a final newline)."""
    char, quote = r"[^.\\\[\]]", r"\\[^\\\[\]]*\\"  # a character as it is; a \quoted\ run (dots too)
    name = rf"(?:{quote})*(?:{char}|\\[^\\\[\]]+\\)(?:{char}|{quote})*"  # one character at least
    array = rf"(?:\\\\)*\[{name}\](?:\\\\)*"  # an empty quote is nothing
    root = rf"(?:\\\\)*\[(?:{char}|{quote})*\](?:\\\\)*"  # the first segment may be [] as well
    return rf"^(?:{name}|{root})(?:\.(?:{name}|{array}))*(?![\s\S])"


PATTERN = _grammar()


@lru_cache(maxsize=1 << 16)  # the paths of a large connector (an imported one) at once
def parse_path(text: str) -> Path:
    segments, current, quoted = [], "", False
    if not text:
        raise ValueError("the path is empty")
    for char in text:
        if char == "\\":
            quoted = not quoted
        elif quoted and char in "[]":
            raise ValueError(f"'{text}': a \\ quote cannot hold [ or ] (they mark arrays)")
        elif char == "." and not quoted:
            segments.append(_segment(current, text))
            current = ""
        else:
            current += char
    if quoted:
        raise ValueError(f"'{text}' has an unclosed \\ quote")
    segments.append(_segment(current, text))
    for segment in segments[1:]:
        if segment.is_array and segment.name == "":
            raise ValueError(f"'{text}': only the first segment may be the root array []")
    return tuple(segments)


def _segment(raw: str, text: str) -> Segment:
    array = len(raw) >= 2 and raw[0] == "[" and raw[-1] == "]"
    name = raw[1:-1] if array else raw
    if (not name and not array) or "[" in name or "]" in name:
        raise ValueError(f"'{text}' is not a valid field path")
    return Segment(name, is_array=array)


@dataclass(frozen=True)
class Conflict:
    """A path that reads `name` ('' for the root) as an array (or an object) where an earlier
    path of the same body, `earlier`, reads it as the other: both cannot match."""

    name: str
    as_array: bool
    earlier: int


def shape_conflicts(paths: Sequence[str]) -> dict[int, Conflict]:
    """Paths of one body that cannot all match it, by index (unparsable paths are skipped)."""
    seen: dict[tuple[str, ...], tuple[bool, int]] = {}  # a property's names from the root: array?, by whom
    conflicts: dict[int, Conflict] = {}
    for index, text in enumerate(paths):
        try:
            path = parse_path(text)
        except ValueError:
            continue
        shapes = [((), path[0].is_array and path[0].name == "")]  # the root: an array, or an object
        names = tuple(s.name for s in path)
        shapes += [(names[: i + 1], s.is_array) for i, s in enumerate(path[:-1]) if s.name]
        if path[-1].is_array and path[-1].name:  # [tags]: the value read is an array
            shapes.append((names, True))
        for key, is_array in shapes:
            earlier = seen.setdefault(key, (is_array, index))
            if earlier[0] != is_array:
                conflicts[index] = Conflict(key[-1] if key else "", is_array, earlier[1])
                break
    return conflicts


def read(node: Any, path: Sequence[Segment]) -> Any:
    if len(path) == 1 and not path[0].is_array:  # the common case, kept fast
        return node.get(path[0].name) if isinstance(node, dict) else None
    for index, segment in enumerate(path):
        if segment.is_array:
            items = node if segment.name == "" else (node or {}).get(segment.name) if isinstance(node, dict) else None
            if not isinstance(items, list):
                return None
            return [read(item, path[index + 1 :]) for item in items]
        if not isinstance(node, dict):
            return None
        node = node.get(segment.name)
    return node


def _collection(paths: Sequence[Path]) -> Path | None:
    """The prefix up to the first array: its elements are the records."""
    for path in paths:
        for index, segment in enumerate(path):
            if segment.is_array:
                return path[: index + 1]
    return None


def _items(body: Any, collection: Path) -> list[Any] | None:
    elements = read(body, collection[:-1]) if len(collection) > 1 else body
    container = collection[-1]
    items = elements if container.name == "" else (elements or {}).get(container.name) \
        if isinstance(elements, dict) else None
    items = [items] if isinstance(items, dict) else items  # XML: one element is not a list
    return items if isinstance(items, list) else None


def count_records(body: Any, fields: Sequence[Any]) -> int:
    """How many records `records_from_body` makes of `body`, without making them."""
    if not fields:
        return 0
    collection = _collection([parse_path(f.ConnectorField) for f in fields])
    if collection is None:
        return 1
    return len(_items(body, collection) or [])


def records_from_body(body: Any, fields: Sequence[Any]) -> list[dict[str, Any]]:
    """The response as records keyed by SystemField: one per element of the outermost array."""
    if not fields:
        return []
    paths = [parse_path(f.ConnectorField) for f in fields]
    collection = _collection(paths)
    if collection is None:
        return [{f.SystemField: from_response(read(body, p), f) for f, p in zip(fields, paths)}]
    items = _items(body, collection)
    if items is None:
        return []
    # Worked out once per page, not per record: this loop is the hot path of reading. A field
    # that is one key of the record (the most common) is read with no call (`read`'s fast path),
    # and a text as it came kept with none (`from_response`'s).
    n = len(collection)
    inside = [(f.SystemField, p[n:], f, p[n].name if len(p) == n + 1 and not p[n].is_array else None,
               f.DataType == "Text") for f, p in zip(fields, paths) if p[:n] == collection]
    outside = {f.SystemField: from_response(read(body, p), f) for f, p in zip(fields, paths)
               if p[:n] != collection}
    return [{**outside, **{
        name: value if value is None or (text and type(value) is str) else from_response(value, f)
        for name, rest, f, key, text in inside
        for value in ((item.get(key) if isinstance(item, dict) else None) if key is not None else read(item, rest),)}}
        for item in items]


def body_from_values(fields: Sequence[Any], values: Mapping[str, Any]) -> dict[str, Any] | list[Any]:
    """A request body from values keyed by SystemField.

    A field inside an array (`[items].email`) given a list of values makes one element per
    value; given one value, an array of one element.
    """
    paths = [parse_path(f.ConnectorField) for f in fields]
    root: Any = [] if paths and paths[0][0].is_array and paths[0][0].name == "" else {}
    for f, p in zip(fields, paths):
        value = values.get(f.SystemField)
        if isinstance(value, list) and any(s.is_array for s in p):
            elements = [convert(v, f) for v in value]
            root = _write(root, p, elements, spread=True)
        else:
            value = convert(value, f)
            if value is not None:
                root = _write(root, p, value)
    return root


def _write(node: Any, path: Path, value: Any, spread: bool = False) -> Any:
    segment, rest = path[0], path[1:]
    if segment.is_array:
        items = node if segment.name == "" else node.setdefault(segment.name, [])
        values = value if spread else [value]
        while len(items) < len(values):
            items.append({})
        for i, one in enumerate(values):
            if not rest:
                items[i] = one
            elif one is not None:  # an element without this field's value leaves it out, not null
                items[i] = _write(items[i], rest, one)
        return node
    if rest:
        node[segment.name] = _write(node.get(segment.name, {}), rest, value)
    else:
        node[segment.name] = value
    return node


MAX_SPLIT = 10_000  # transactions one record may split into


def split_nested(records: list[dict[str, Any]], fields: Sequence[Any]) -> list[dict[str, Any]]:
    """CollectionSplit All: each record with inner collections (fields under a second array,
    which come back as lists) becomes one record per element, across collections their product."""
    groups: dict[Path, list[str]] = {}
    for f in fields:
        path = parse_path(f.ConnectorField)
        arrays = [i for i, segment in enumerate(path) if segment.is_array]
        if len(arrays) >= 2:
            groups.setdefault(path[: arrays[1] + 1], []).append(f.SystemField)
    if not groups:
        return records
    return [split for record in records for split in _split(record, list(groups.values()))]


def _split(record: dict[str, Any], groups: list[list[str]]) -> list[dict[str, Any]]:
    combined: list[dict[str, Any]] = [{}]
    for names in groups:
        lists = {n: record[n] for n in names if isinstance(record.get(n), list)}
        length = max((len(v) for v in lists.values()), default=0)
        if length == 0:  # no elements: the record once, its element fields empty (not empty lists)
            combined = [{**c, **dict.fromkeys(names)} for c in combined]
            continue
        elements = [{n: v[i] if i < len(v) else None for n, v in lists.items()} for i in range(length)]
        combined = [{**c, **e} for c in combined for e in elements]
        if len(combined) > MAX_SPLIT:
            raise StepError(f"splitting a record's collections would make more than {MAX_SPLIT} transactions")
    return [{**record, **c} for c in combined]
