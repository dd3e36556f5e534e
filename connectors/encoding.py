"""Values as the wire carries them: form bodies, query arrays, path segments, files, multipart.

A form body (`application/x-www-form-urlencoded`) nests in brackets, as Stripe reads it and as
OpenAPI's `deepObject` style writes it: `a[b]=c`, `a[b][c]=d`, arrays by index `a[0]=x`.
A query parameter given a list repeats its name (OpenAPI `form`, `explode: true`), or joins
the items with commas when the parameter says `"Explode": false`. A path parameter is one
segment: every reserved character is percent-encoded (`a/b` -> `a%2Fb`).

A file is a value `{"Content": <base64>, "FileName": ..., "ContentType": ...}` (only Content
is required): a field of DataType File carries one, in a Multipart body as a file part, or
as the whole body of a Binary method.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from urllib3 import encode_multipart_formdata

OCTETS = "application/octet-stream"


def scalar(value: Any) -> str:
    """One value as text: true/false for booleans, empty for None."""
    return "true" if value is True else "false" if value is False else "" if value is None else str(value)


def form_pairs(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """The (name, value) pairs of a form body, nested values in brackets."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from form_pairs(value, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            yield from form_pairs(value, f"{prefix}[{index}]")
    else:
        yield prefix, scalar(data)


def query_value(value: Any, explode: bool = True) -> str | list[str]:
    """A query parameter's value: a list repeats the name (explode) or is comma-joined."""
    if not isinstance(value, list | tuple):
        return scalar(value)
    items = [scalar(item) for item in value]
    return items if explode else ",".join(items)


def path_segment(value: Any) -> str:
    """A value as one path segment: `/`, `?`, `#`, `%` and every other reserved character encoded."""
    return quote(scalar(value), safe="")


@dataclass(frozen=True)
class File:
    content: bytes
    filename: str = "file"
    content_type: str = OCTETS


def file_of(value: Any) -> File:
    """A file value's content and names; ValueError saying what is wrong with it."""
    if not isinstance(value, Mapping) or not isinstance(value.get("Content"), str):
        raise ValueError('a file is {"Content": <base64>, "FileName": …, "ContentType": …}')  # noqa: TRY004
    try:
        content = base64.b64decode(value["Content"], validate=True)
    except binascii.Error:
        raise ValueError("a file's Content must be base64") from None
    return File(content, str(value.get("FileName") or "file"), str(value.get("ContentType") or OCTETS))


def is_file(value: Any) -> bool:
    return isinstance(value, Mapping) and "Content" in value and set(value) <= {"Content", "FileName", "ContentType"}


def multipart(body: Mapping[str, Any]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type: files as file parts, the rest as form
    fields (nested in brackets)."""
    parts: list[tuple[str, Any]] = []
    for name, value in body.items():
        if is_file(value):
            found = file_of(value)
            parts.append((str(name), (found.filename, found.content, found.content_type)))
        else:
            parts += form_pairs({name: value})
    return encode_multipart_formdata(parts)
