"""Request and response bodies by the method's DataType: Json, Form, Multipart, Binary, Xml,
PlainText, None. A method with no body to send (no request fields, nothing a script set)
sends none: no Content-Type, no `{}`. How forms, multipart and files are encoded:
connectors/encoding.py.

An Xml body is the dict xmltodict makes of it (one key per element, repeated elements as
lists). A PlainText response reads as {"text": …}, so a field's ConnectorField is `text`;
a PlainText request sends the first request field's value.
"""

from __future__ import annotations

from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict

from connectors import nesting
from connectors.encoding import file_of, is_file, multipart
from connectors.errors import StepError
from connectors.paths import parse_path, read
from connectors.spec import Connector, Method
from connectors.transport import Response


def encode(method: Method, body: Any) -> dict[str, Any]:
    """The keyword arguments of `transport.build_request` carrying `body` (a dict or list from
    the request fields; None for no body)."""
    if body is None or method.HttpMethod == "Get" or method.DataType == "None":
        return {}
    match method.DataType:
        case "Json" if isinstance(body, str):  # a script made the exact text (to sign it, say)
            return {"content": body, "headers": {"Content-Type": "application/json"}}
        case "Json":
            return {"json": body}
        case "Form":
            return {"data": body}
        case "Multipart":
            if not isinstance(body, dict):
                raise StepError("a Multipart body is made of named parts: its request fields must make an object")
            try:
                content, kind = multipart(body)
            except ValueError as err:  # a file a script set
                raise StepError(f"the Multipart body: {err}") from None
            return {"content": content, "headers": {"Content-Type": kind}}
        case "Binary":
            try:
                found = file_of(body if is_file(body) or not isinstance(body, dict) else next(iter(body.values()), None))
            except ValueError as err:
                raise StepError(f"the Binary body: {err}") from None
            return {"content": found.content, "headers": {"Content-Type": found.content_type}}
        case "Xml":
            root = body if isinstance(body, dict) and len(body) == 1 else {"request": body}
            return {"content": xmltodict.unparse(root), "headers": {"Content-Type": "application/xml"}}
        case _:  # PlainText
            text = next(iter(body.values()), "") if isinstance(body, dict) else body
            return {"content": "" if text is None else str(text), "headers": {"Content-Type": "text/plain"}}


def decode(method: Method, response: Response) -> Any:
    """The response body as data the field paths can read."""
    if not response.content or method.DataType == "None":
        return None
    kind = response.headers.get("Content-Type", "")
    if method.DataType == "Xml" or "xml" in kind:
        try:
            return nesting.check(xmltodict.parse(response.text), "the response body")
        except ExpatError:
            return {"text": response.text}
    if method.DataType == "PlainText":
        return {"text": response.text}
    try:
        return nesting.loads(response.content, "the response body")
    except ValueError:
        return {"text": response.text}


def outbound_chunks(connector: Connector, method: Method, body: Any) -> list[Any]:
    """The body, or (outbound paging) copies of it each carrying a slice of its array."""
    paged = method.PagedOutbound if method.PagedOutbound is not None else connector.PagedOutbound
    size = method.PageSizeOutbound or connector.PageSizeOutbound
    location = method.PagedOutboundLocation or ""
    if not paged or not size:
        return [body]
    items = body if not location else read(body, parse_path(location))
    if not isinstance(items, list) or len(items) <= size:
        return [body]
    slices = [items[i : i + size] for i in range(0, len(items), size)]
    if not location:
        return slices
    *parents, last = location.split(".")
    chunks = []
    for part in slices:
        copy = _copied_to(body, parents)
        _at(copy, parents)[last] = part
        chunks.append(copy)
    return chunks


def _copied_to(body: dict, parents: list[str]) -> dict:
    """A copy of `body` in which the dicts along `parents` are new (the rest is shared)."""
    copy = dict(body)
    node = copy
    for name in parents:
        node[name] = dict(node[name])
        node = node[name]
    return copy


def _at(body: dict, parents: list[str]) -> dict:
    for name in parents:
        body = body[name]
    return body
