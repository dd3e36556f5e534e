"""OpenAPI import: an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML) as a connector document,
with a list of what could not be converted, each item with its place in the document.

The document is walked as it was parsed, each `$ref` resolved (by python-jsonschema's
`referencing`, within the document only) when the walk reaches it (At), so a large spec is never
inlined whole and a circular schema is seen (the same schema object again among its own
ancestors) and cut instead of followed. jsonschema-path, which did this before, cost most of an
import's time; prance, the other candidate, resolves eagerly and needs a recursion handler for
cycles. Swagger 2.0 and OpenAPI 3.x are read alike; the differences between them are in this
module.

What maps to what (DESIGN §2): one method per operation, its endpoint under the BaseUrl
property (the first server by default, its variables properties too); path parameters become
MergeField parameters, query and header parameters QueryString and HttpHeader ones; the JSON
(or form) request body and the first 2xx response's JSON body become fields, breadth first, to
MAX_DEPTH levels and MAX_FIELDS fields (oneOf/anyOf: the union of the variants' fields); security
schemes become Authentication entries, after one the partner chose; paging is recognised where
parameter and response field names make it plain. Anything else is reported, never silently
dropped.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from referencing import Registry
from referencing.exceptions import PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012

from connectors import nesting
from connectors.inputs import FILE_BODIES
from connectors.validation import ConnectorInvalid, Problem, parse_connector

VERBS = ("get", "put", "post", "delete", "patch")
OTHER_VERBS = ("head", "options", "trace")
MAX_DEPTH = 12  # segments of a ConnectorField: deeper objects are cut, and reported
MAX_FIELDS = 250  # per request or response: the most deeply nested are left out
MAX_VISITS = 20 * MAX_FIELDS  # schemas read for one request or response, whatever they hold
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# A request body of one of these is a file sent as it is (a Binary method's one File field).
BINARY_BODIES = ("application/octet-stream", "application/pdf", "image/", "audio/", "video/")
# Headers OpenAPI says a parameter does not set: the engine sets them from the method and auth.
RESERVED_HEADERS = {"accept", "authorization", "content-type"}

# Paging by name, compared lower case without separators (page_size = pageSize = page-size).
PAGE_NUMBER = {"page", "pagenumber", "pageno"}
PAGE_OFFSET = {"offset", "skip", "start"}
PAGE_SIZE = {"perpage", "pagesize", "limit", "size", "count", "maxresults", "pagelimit"}
PAGE_TOKEN = {"cursor", "pagetoken", "after", "startingafter", "nexttoken", "continuationtoken", "marker",
              "pagecursor"}
NEXT_TOKEN = {"nextcursor", "nextpagetoken", "nexttoken", "endcursor", "continuationtoken", "nextmarker",
              "cursor", "after"}
NEXT_URL = {"next", "nexturl", "nextlink", "odatanextlink", "nextpage", "nextpageurl"}


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when there: specs run to megabytes


DOCUMENT = "the OpenAPI document"
Place = tuple[Any, ...]  # keys and indexes from the document's root


class NotOpenApi(ValueError):
    """The document is not an OpenAPI 3.x or Swagger 2.0 document."""


# What a document of the wrong shape makes the walk raise, as a document may be anything.
MALFORMED = (Unresolvable, AttributeError, KeyError, TypeError, IndexError, ValueError)


@dataclass(frozen=True)
class Options:
    """What the partner chooses at import."""

    base_url: str | None = None  # BaseUrl's default, instead of the document's server
    # An Authentication entry (connector JSON): the connector's default, before any the document
    # declares (GitHub's declares none, and would otherwise send no credentials).
    authentication: dict[str, Any] | None = None


@dataclass(frozen=True)
class Imported:
    document: dict[str, Any]  # the connector
    skipped: list[Problem]  # what was not converted: where in the spec (a JSON pointer), and why


def load(text: str | bytes) -> dict[str, Any]:
    """An OpenAPI document from JSON or YAML text (JSON first: it is faster, and stricter), no
    deeper than any other data (nesting.TooDeep otherwise)."""
    try:
        document = nesting.loads(text, DOCUMENT)
    except ValueError:  # not JSON
        document = _yaml(text)
    except nesting.TooDeep as too_deep:  # deep JSON; or YAML, whose quoted text may hold brackets
        try:
            document = _yaml(text)
        except NotOpenApi:
            raise too_deep from None
    check(document)
    return document


def _yaml(text: str | bytes) -> Any:
    try:
        return nesting.check(yaml.load(text, Loader=SAFE_LOADER), DOCUMENT)
    except yaml.YAMLError as err:  # libyaml stops at a depth of its own too
        raise NotOpenApi(f"the document is neither JSON nor YAML: {err}") from None
    except RecursionError:  # PyYAML's own loader, where libyaml is missing, recurses
        raise nesting.TooDeep(DOCUMENT) from None


def check(document: Any) -> None:
    """Raise NotOpenApi unless `document` says it is OpenAPI 3.x or Swagger 2.0."""
    if not isinstance(document, dict):
        raise NotOpenApi("an OpenAPI document is an object (a mapping)")
    if str(document.get("swagger")) != "2.0" and not str(document.get("openapi", "")).startswith("3."):
        raise NotOpenApi("not an OpenAPI 3.x or Swagger 2.0 document: it has neither 'openapi: 3.x' "
                         "nor 'swagger: \"2.0\"'")
    if not isinstance(document.get("paths", {}), dict):
        raise NotOpenApi("'paths' must be an object")


Progress = Callable[[int, int], None]  # operations converted so far, of how many


def import_openapi(document: dict[str, Any], options: Options = Options(), progress: Progress | None = None
                   ) -> Imported:
    """The connector `document` describes, with what the partner chose; `progress` hears of each
    operation converted."""
    check(document)
    cuts = endless_refs(document)
    importer = _Importer(_cut(document, cuts) if cuts else document, options, progress)
    importer.skipped += [Problem(_pointer(place), message) for place, message in cuts.items()]
    try:
        return Imported(importer.connector(), importer.skipped)
    except MALFORMED as err:
        raise NotOpenApi(f"the document does not have the shape OpenAPI describes ({_brief(err)})") from None


def authentication_problems(entry: dict[str, Any]) -> list[Problem]:
    """What is wrong with an authentication chosen at import (a connector Authentication entry),
    each by the entry's property it is about ("" for the entry as a whole)."""
    properties = [{"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True}]
    try:
        parse_connector({"Name": "chosen", "Authentication": [entry], "Parameters": properties})
    except ConnectorInvalid as err:
        return [Problem(p.path.removeprefix("$.Authentication[0]").lstrip("."), p.message) for p in err.problems]
    return []


def _brief(err: Exception) -> str:
    """What went wrong, briefly: some errors quote the whole document."""
    if isinstance(err, Unresolvable):
        ref = f"#{err.ref}" if isinstance(err, PointerToNowhere) else str(err.ref)  # a pointer's ref lacks its #
        return f"a $ref that cannot be resolved: {ref[:200]}"
    return f"{type(err).__name__} {str(err)[:200]}"


def _registry(document: dict[str, Any]) -> Registry:
    """Where only references inside the document resolve: a registry with nothing to retrieve
    from (At.from_dict would read file: and http: references, and a document an API
    caller sends must not read the server's files or reach its network)."""
    return Registry().with_resource("", DRAFT202012.create_resource(document))


def _is_ref(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("$ref"), str)


class At:
    """A place in the document as the walk reached it (its keys from the root, through `$refs`
    as they were followed) and what is there, its `$ref` resolved when first read: a `$ref` to
    nowhere is met where the walk uses it."""

    __slots__ = ("_node", "_raw", "_refs", "place")

    def __init__(self, raw: Any, place: Place, refs: _Refs) -> None:
        self._raw, self.place, self._refs = raw, place, refs
        self._node: Any = _UNREAD

    @property
    def node(self) -> Any:
        if self._node is _UNREAD:
            self._node = self._refs.resolved(self._raw)
        return self._node

    def __truediv__(self, key: Any) -> At:
        return At(self.node[key], (*self.place, key), self._refs)

    def __contains__(self, key: Any) -> bool:
        node = self.node
        return isinstance(node, dict) and key in node


_UNREAD = object()


class _Refs:
    """Resolves the document's `$ref`s (each reference text looked up once); only references
    inside the document resolve: the registry has nothing to retrieve from, so a document an
    API caller sends cannot make the server read its files or reach its network."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.resolver = _registry(document).resolver(base_uri="")
        self.found: dict[str, Any] = {}

    def resolved(self, node: Any) -> Any:
        while _is_ref(node):  # endless chains and loops are cut before the walk (endless_refs)
            ref = node["$ref"]
            if ref not in self.found:
                self.found[ref] = self.resolver.lookup(ref).contents
            node = self.found[ref]
        return node


def endless_refs(document: dict[str, Any]) -> dict[Place, str]:
    """The `$ref`s whose resolving would never be done, by their place in the document, with
    why: each that closes a loop of references to references (A → B → A), and each that would
    be the next after nesting.MAX_DEPTH of them in a row. Each reference is followed once."""
    resolver = _registry(document).resolver(base_uri="")
    found = {id(node): (place, node) for place, node in _refs(document)}
    hops: dict[int, int] = {}  # an object holding a $ref: how many $refs in a row it starts
    cuts: dict[Place, str] = {}
    for start, (_, node) in found.items():
        if start in hops:  # followed already, from an earlier one
            continue
        path, on_path, loops = [], set(), False  # the objects followed from `start`, by id
        while True:
            path.append(id(node))
            on_path.add(id(node))
            try:
                node = resolver.lookup(node["$ref"]).contents
            except MALFORMED:  # a $ref to nothing: reported where the walk meets it
                break
            loops = _is_ref(node) and id(node) in on_path
            if loops or not _is_ref(node) or id(node) in hops:
                break
        after = hops.get(id(node), 0)
        if loops:  # the last one followed leads back: cut there
            loop = [_pointer(found[i][0]) for i in path[path.index(id(node)):]]
            cuts[found[path[-1]][0]] = f"a loop of $refs ({' → '.join([*loop, loop[0]])}): not converted"
            hops[path.pop()], after = 0, 0
        for i in reversed(path):
            after += 1
            if after > nesting.MAX_DEPTH:
                cuts[found[i][0]] = f"more than {nesting.MAX_DEPTH} $refs in a row: not followed further"
                after = 0
            hops[i] = after
    return cuts


def _cut(document: dict[str, Any], cuts: dict[Place, str]) -> dict[str, Any]:
    """A copy of the document without the `$ref`s at the places cut."""
    copy = deepcopy(document)
    for place in cuts:
        node: Any = copy
        for part in place:
            node = node[part]
        node.pop("$ref")
    return copy


def _refs(document: Any) -> Iterator[tuple[Place, dict[str, Any]]]:
    """Each object holding a `$ref` (one the walk follows), with its place."""
    todo: list[tuple[Place, Any]] = [((), document)]
    while todo:
        place, node = todo.pop()
        if _is_ref(node):
            yield place, node
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        todo.extend(((*place, key), child) for key, child in children)


def _node(path: At) -> Any:
    """What `path` points at, `$ref`s on the way resolved."""
    return path.node


def _children(path: At, key: str) -> Iterator[tuple[Any, At]]:
    """The entries of the object or list at `path / key` (none when absent)."""
    if key in path:
        child = path / key
        node = child.node
        names = node if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
        for name in names:
            yield name, child / name


def pointer(path: At) -> str:
    """Where `path` is in the document, as a JSON pointer (through `$ref`s, as the walk went)."""
    return _pointer(path.place)


def _pointer(place: Sequence[Any]) -> str:
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in place)


def mergefield(name: str) -> str:
    """A mergefield name for an OpenAPI name (`pet-id` → `pet_id`)."""
    cleaned = re.sub(r"\W", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"_{cleaned}"


@lru_cache(maxsize=1 << 14)  # specs repeat their property names
def _words(name: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)) or (name,)


def _pascal(names: list[str]) -> str:
    return "".join(w[:1].upper() + w[1:] for n in names for w in _words(n)) or "Value"


def _normal(name: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _type(node: dict) -> str | None:
    """The schema's type; of a 3.1 type list, the one that is not null (None when several)."""
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if len(kinds) == 1 else None
    if kind is None and "properties" in node:
        return "object"
    if kind is None and "items" in node:
        return "array"
    return kind


def data_type(node: Any) -> tuple[str, str | None]:
    """A schema's DataType, and its Format for dates."""
    node = node if isinstance(node, dict) else {}
    kind, fmt = _type(node), _normal(node.get("format"))  # date-time, and dateTime as some write it
    if kind == "integer":
        return "Integer", None
    if kind == "number":
        return ("Float" if fmt in ("float", "double") else "Decimal"), None
    if kind == "boolean":
        return "Boolean", None
    if kind == "file" or (kind == "string" and fmt == "binary"):  # Swagger 2.0's file; 3.x's binary string
        return "File", None
    if kind == "string" and fmt == "datetime":
        return "DateTime", None
    if kind == "string" and fmt == "date":
        return "DateTime", "yyyy-MM-dd"
    return "Text", None


def _as_text(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fields outside a Multipart or Binary body: a binary string there is a string like another."""
    return [{**f, "DataType": "Text"} if f.get("DataType") == "File" else f for f in fields]


def _binary(media_types: list[str]) -> str | None:
    """The media type of a file sent as it is, among a body's."""
    return next((m for m in media_types if m.startswith(BINARY_BODIES)), None)


def _file_body(media_type: str, required: bool) -> list[dict[str, Any]]:
    """A Binary method's one field: the file that is its body."""
    return [{"ConnectorField": "file", "SystemField": "File", "DisplayField": "File", "DataType": "File",
             "IsOptional": not required, "Description": f"the {media_type} body: a file (Content in base64)"}]


def _is_json(media_type: str) -> bool:
    kind = media_type.split(";")[0].strip().lower()
    return kind in ("application/json", "*/*") or kind.endswith("+json")


def _segment(name: str) -> str | None:
    """A property name as a ConnectorField segment (None when the path syntax cannot say it)."""
    if not name or any(c in name for c in "[]\\"):
        return None
    return f"\\{name}\\" if "." in name else name


def _clears(node: Any) -> bool:
    """A plain value that only clears what the object would set (Stripe's `enum: [""]`)."""
    return isinstance(node, dict) and node.get("enum") == [""]


def _required(node: dict) -> set[str]:
    names = node.get("required")
    return {str(n) for n in names} if isinstance(names, list) else set()


def _unique(name: str, taken: set[str]) -> str:
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name} {n}"
    return unique


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


BASE = "{{BaseUrl}}"  # where every endpoint starts


def _base_url(default: str | None, servers: list[str]) -> dict[str, Any]:
    """The BaseUrl property: where the API is for an account. A relative server has no default."""
    example = "https://api.example.com" + ("" if "://" in servers[0] else servers[0])
    named = ", ".join(f"'{url or '/'}'" for url in servers)
    return _without_none({
        "Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True, "DefaultValue": default,
        "Description": f"Where the API is, such as {example} (the document's servers: {named})."})


@dataclass
class _Fields:
    """The fields of one request or response body, as the walk finds them: shallowest first,
    each with its place in the document's order (a tuple of property indexes)."""

    direction: str  # "request" | "response"
    where: str  # the body's place in the document
    todo: deque[_Visit] = field(default_factory=deque)
    found: list[tuple[tuple[int, ...], dict[str, Any]]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # SystemFields taken
    visits: int = 0


@dataclass(frozen=True)
class _Visit:
    """A schema the walk is to read, at `segments` of the body."""

    schema: At
    segments: tuple[str, ...]
    required: bool
    ancestors: frozenset[int]  # the schemas it is inside, by id: one among them again is a cycle
    order: tuple[int, ...]


def operations(document: dict[str, Any]) -> int:
    """How many operations the document's paths hold (what becomes a method, or is listed)."""
    paths = document.get("paths") if isinstance(document.get("paths"), dict) else {}
    return sum(verb in VERBS for item in paths.values() if isinstance(item, dict) for verb in item)


class _Importer:
    def __init__(self, document: dict[str, Any], options: Options, progress: Progress | None) -> None:
        self.document = document
        self.progress = progress
        self.swagger = "swagger" in document
        self.root = At(document, (), _Refs(document))
        self.options = options
        self.skipped: list[Problem] = []
        self.identifiers: set[str] = set()
        self.shapes: dict[int, dict[str, tuple[At, bool]] | None] = {}  # properties(), by schema

    def skip(self, where: At | str, message: str) -> None:
        self.skipped.append(Problem(where if isinstance(where, str) else pointer(where), message))

    # The connector

    def connector(self) -> dict[str, Any]:
        info = self.document.get("info") if isinstance(self.document.get("info"), dict) else {}
        title = re.sub(r"[\x00-\x1f\x7f]", " ", str(info.get("title") or ""))
        name = " ".join(title.split())[:200] or "Imported API"
        connector = _without_none({
            "Name": name, "Version": str(info.get("version") or "1.0"),
            "Description": str(info.get("description") or ""),
        })
        connector |= {"Authentication": self.authentications(), "Parameters": self.account_properties(),
                      "Methods": list(self.methods())}
        for name, webhook in _children(self.root, "webhooks"):
            self.skip(webhook, f"webhook '{name}' is not converted (webhooks the API sends are not imported)")
        return connector

    def account_properties(self) -> list[dict[str, Any]]:
        """The account connector properties: BaseUrl, the base of every endpoint (the document's
        first server by default, so that an account may point elsewhere: a sandbox, a region),
        and that server's variables, which its default names."""
        if self.swagger:
            host, base_path = self.document.get("host"), str(self.document.get("basePath") or "")
            schemes = self.document.get("schemes") or ["https"]
            servers, variables = [{"url": f"{schemes[0]}://{host}{base_path}" if host else base_path}], {}
        else:
            servers = self.document.get("servers") or [{"url": "/"}]  # OpenAPI's default server
            servers = [server if isinstance(server, dict) else {} for server in servers]
            variables = servers[0].get("variables") or {}
        urls = [str(server.get("url") or "/").rstrip("/") for server in servers]
        if self.options.base_url:
            return [_base_url(self.options.base_url.rstrip("/"), urls)]
        parameters = []
        for name in dict.fromkeys(re.findall(r"\{([^{}]+)\}", urls[0])):
            variable = variables.get(name) if isinstance(variables.get(name), dict) else {}
            parameters.append(_without_none({
                "Name": mergefield(name), "TargetType": "MergeField", "IsAccountConnectorProperty": True,
                "DefaultValue": str(variable["default"]) if variable.get("default") is not None else None,
                "Values": [str(e) for e in variable.get("enum") or []] or None,
                "Description": str(variable.get("description") or "") or None,
            }))
        default = re.sub(r"\{([^{}]+)\}", lambda m: "{{" + mergefield(m[1]) + "}}", urls[0])
        return [_base_url(default if "://" in default else None, urls), *parameters]

    # Authentication

    def authentications(self) -> list[dict[str, Any]]:
        """The chosen authentication (the default), then the document's security schemes."""
        key = "securityDefinitions" if self.swagger else "securitySchemes"
        owner = self.root if self.swagger else self.root / "components" if "components" in self.root else None
        entries: list[tuple[str, dict[str, Any]]] = []
        for name, scheme in _children(owner, key) if owner is not None else ():
            try:
                entries += [(str(name), entry) for entry in self.authentication(str(name), scheme)]
            except MALFORMED as err:
                self.skip(scheme, f"security scheme '{name}' is not converted: {_brief(err)}")
        chosen = self.options.authentication
        if chosen:
            taken = {entry["Name"] for _, entry in entries}
            entries = [("", {**chosen, "Name": _unique(chosen.get("Name") or chosen["AuthType"], taken)}),
                       *entries]
        elif not entries:
            self.skip(f"#/{key}" if self.swagger else f"#/components/{key}",
                      "the document declares no security scheme that converts: the connector sends no "
                      "credentials unless an authentication is chosen at import")
            return []
        default = "" if chosen else self._default_scheme()
        index = next((i for i, (name, _) in enumerate(entries) if name == default), 0)
        entries[index][1]["IsDefault"] = True
        return [entry for _, entry in entries]

    def _default_scheme(self) -> str | None:
        """The first scheme the document's own `security` names."""
        for requirement in self.document.get("security") or []:
            if isinstance(requirement, dict) and requirement:
                return str(next(iter(requirement)))
        return None

    def authentication(self, name: str, scheme: At) -> list[dict[str, Any]]:
        node = _node(scheme)
        kind = node.get("type")
        if kind == "apiKey" and node.get("in") in ("header", "query"):
            return [{"Name": name, "AuthType": "ApiKey", "ApiKeyName": str(node.get("name") or name),
                     "ApiKeyLocation": "Header" if node["in"] == "header" else "QueryString"}]
        if kind == "basic" or (kind == "http" and str(node.get("scheme", "")).lower() == "basic"):
            return [{"Name": name, "AuthType": "Basic"}]
        if kind == "http" and str(node.get("scheme", "")).lower() == "bearer":
            return [{"Name": name, "AuthType": "Bearer"}]
        if kind == "oauth2":
            return self.oauth2(name, scheme, node)
        what = f"an API key in a {node.get('in')}" if kind == "apiKey" else f"type '{kind}'"
        if kind == "http":
            what = f"HTTP '{node.get('scheme')}' authentication"
        self.skip(scheme, f"security scheme '{name}': {what} is not supported")
        return []

    def oauth2(self, name: str, scheme: At, node: dict) -> list[dict[str, Any]]:
        grants = {"authorizationCode": "AuthorisationCode", "accessCode": "AuthorisationCode",
                  "clientCredentials": "ClientCredentials", "application": "ClientCredentials",
                  "password": "PasswordCredentials"}
        if self.swagger:
            flows = [(str(node.get("flow")), scheme, node)]
        else:
            flows = [(str(flow), path, _node(path)) for flow, path in _children(scheme, "flows")]
        entries = []
        for flow, where, details in flows:
            if flow not in grants:
                self.skip(where, f"security scheme '{name}': the OAuth2 {flow} flow is not supported")
                continue
            entries.append(_without_none({
                "Name": name if len(flows) == 1 else f"{name} ({flow})", "AuthType": "OAuth2",
                "OAuth2Type": grants[flow], "AuthoriseUrl": details.get("authorizationUrl"),
                "AccessTokenUrl": details.get("tokenUrl"), "RefreshUrl": details.get("refreshUrl"),
                "Scopes": [str(s) for s in details.get("scopes") or {}] or None,
            }))
        return entries

    # Methods

    def methods(self) -> Iterator[dict[str, Any]]:
        total, done = operations(self.document), 0
        for route, item in _children(self.root, "paths"):
            if "servers" in item:
                self.skip(item / "servers", "servers of one path are not used: every method uses the document's")
            for verb in _node(item):
                if verb in OTHER_VERBS:
                    self.skip(item / verb, f"{verb.upper()} is not an HTTP method connectors call")
                elif verb in VERBS:
                    try:
                        yield self.method(str(route), verb, item)
                    except MALFORMED as err:
                        self.skip(item / verb, f"the operation is not converted: {_brief(err)}")
                    done += 1
                    if self.progress:
                        self.progress(done, max(done, total))  # a $ref'd path item is counted as it comes

    def identifier(self, wanted: str) -> str:
        unique, n = wanted, 1
        while unique in self.identifiers:
            n += 1
            unique = f"{wanted}-{n}"
        self.identifiers.add(unique)
        return unique

    def method(self, route: str, verb: str, item: At) -> dict[str, Any]:
        operation = item / verb
        node = _node(operation)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{verb} {route}".lower()).strip("-")
        tags = node.get("tags") or []
        method = _without_none({
            # GitHub's users/get-authenticated is users-get-authenticated: the API names methods in URLs.
            "UniqueIdentifier": self.identifier(str(node.get("operationId") or slug).replace("/", "-")),
            "Name": str(node.get("summary") or node.get("operationId") or f"{verb.upper()} {route}"),
            "Description": str(node.get("description") or ""), "Category": str(tags[0]) if tags else None,
            "HttpMethod": verb.capitalize(),
            "Endpoint": BASE + re.sub(r"\{([^{}]+)\}", lambda m: "{{" + mergefield(m[1]) + "}}", route),
        })
        parameters, body, maxima = self.parameters(route, item, operation)
        request = body or self.request_body(operation)
        if request is not None:
            method["DataType"], fields = request
            if fields:
                method["RequestFormat"] = {"Fields": fields if method["DataType"] in FILE_BODIES else _as_text(fields)}
        response = self.response(operation)
        if response:
            method["ResponseFormat"] = {"Fields": _as_text(response)}
        if verb == "get" and response:
            parameters, method = self.paging(parameters, method, maxima)
        method["Parameters"] = parameters
        for name, callback in _children(operation, "callbacks"):
            self.skip(callback, f"callback '{name}' is not converted")
        if "servers" in operation:
            self.skip(operation / "servers", "servers of one operation are not used: every method uses the "
                                             "document's")
        return method

    # Parameters

    def parameters(self, route: str, item: At, operation: At
                   ) -> tuple[list[dict[str, Any]], tuple[str, list[dict[str, Any]]] | None, dict[str, int]]:
        """The method's parameters, (Swagger 2.0) the request body its parameters describe, and the
        largest value each query parameter allows (the page size a page may ask for)."""
        declared: dict[tuple[str, str], At] = {}
        for owner in (item, operation):  # the operation's own override the path's
            for _, parameter in _children(owner, "parameters"):
                node = _node(parameter)
                declared[(str(node.get("name")), str(node.get("in")))] = parameter
        converted, form, body, maxima = [], [], None, {}
        for (name, where), parameter in declared.items():
            maximum = self.parameter_schema(parameter, _node(parameter)).get("maximum")
            if where == "query" and isinstance(maximum, int) and maximum > 0:
                maxima[name] = maximum
            if where == "body":
                body = self.swagger_body(operation, parameter)
            elif where == "formData":
                form.append((name, parameter))
            else:
                converted += self.parameter(name, where, parameter)
        for name in re.findall(r"\{([^{}]+)\}", route):  # a template the document forgot to declare
            if (name, "path") not in declared:
                converted.append({"Name": mergefield(name), "TargetType": "MergeField"})
        if form:
            body = self.swagger_form(operation, form)
        return converted, body, maxima

    def parameter(self, name: str, where: str, parameter: At) -> list[dict[str, Any]]:
        node = _node(parameter)
        schema = self.parameter_schema(parameter, node)
        kind, _ = data_type(schema)
        common = _without_none({
            "Description": str(node["description"]) if node.get("description") else None, "DataType": kind,
            "Values": [str(v) for v in schema.get("enum") or [] if v is not None] or None,
        })
        if where == "path":
            return [{"Name": mergefield(name), "TargetType": "MergeField", **common}]
        optional = not node.get("required", False)
        if where == "query":
            return [{"TargetType": "QueryString", "TargetName": name, "IsOptional": optional, **common,
                     **({"Explode": False} if self.joined(node) else {})}]
        if where == "header" and name.lower() not in RESERVED_HEADERS:
            return [{"TargetType": "HttpHeader", "TargetName": name, "IsOptional": optional, **common}]
        if where == "header":
            self.skip(parameter, f"header parameter '{name}' is set by the engine, not by a parameter")
        else:
            self.skip(parameter, f"{where} parameter '{name}' is not converted (only path, query and header "
                                 "parameters are)")
        return []

    def joined(self, node: dict) -> bool:
        """Whether a query array goes comma-joined: `explode: false` (3.x), `collectionFormat: csv`
        (Swagger 2.0's default)."""
        if self.swagger:
            return node.get("type") == "array" and node.get("collectionFormat", "csv") == "csv"
        return node.get("style", "form") == "form" and node.get("explode", True) is False

    def parameter_schema(self, parameter: At, node: dict) -> dict:
        """A parameter's schema: its own properties in Swagger 2.0; `schema` or `content` in 3.x."""
        if self.swagger:
            return node
        if "schema" in node:
            schema = _node(parameter / "schema")
            return schema if isinstance(schema, dict) else {}
        for _, media in _children(parameter, "content"):
            return _node(media / "schema") if "schema" in media else {}
        return {}

    # Request bodies

    def request_body(self, operation: At) -> tuple[str, list[dict[str, Any]]] | None:
        """OpenAPI 3.x: (DataType, fields) of a JSON or form body."""
        if "requestBody" not in operation:
            return None
        body = operation / "requestBody"
        required = bool(_node(body).get("required", False))
        media_types = [str(m) for m, _ in _children(body, "content")]
        json_type = next((m for m in media_types if _is_json(m)), None)
        if json_type:
            return "Json", self.fields(body / "content" / json_type, "request", required)
        if FORM in media_types:  # nested values too: a[b]=c, as the engine encodes a form
            return "Form", self.fields(body / "content" / FORM, "request", required)
        if MULTIPART in media_types:  # binary strings become File fields, sent as file parts
            return "Multipart", self.fields(body / "content" / MULTIPART, "request", required)
        if binary := _binary(media_types):
            return "Binary", _file_body(binary, required)
        if media_types:
            self.skip(body, f"request body {', '.join(media_types)} is not converted (only JSON, form, multipart "
                            "and file bodies are)")
        return None

    def swagger_body(self, operation: At, parameter: At) -> tuple[str, list[dict[str, Any]]] | None:
        consumes = self._media(operation, "consumes")
        if consumes and not any(_is_json(m) for m in consumes) and (binary := _binary(consumes)):
            return "Binary", _file_body(binary, bool(_node(parameter).get("required", False)))
        if consumes and not any(_is_json(m) for m in consumes):
            self.skip(parameter, f"request body {', '.join(consumes)} is not converted (only JSON, form, "
                                 "multipart and file bodies are)")
            return None
        return "Json", self.fields(parameter, "request", bool(_node(parameter).get("required", False)))

    def swagger_form(self, operation: At, form: list[tuple[str, At]]
                     ) -> tuple[str, list[dict[str, Any]]] | None:
        consumes = self._media(operation, "consumes")
        multipart = MULTIPART in consumes or any(_node(p).get("type") == "file" for _, p in form)
        if consumes and FORM not in consumes and MULTIPART not in consumes:
            self.skip(operation, f"a form body of {', '.join(consumes)} is not converted")
            return None
        fields = _Fields("request", pointer(operation))
        for index, (name, parameter) in enumerate(form):
            node = _node(parameter)
            self.leaf(fields, _Visit(parameter, (name,), bool(node.get("required", False)), frozenset(), (index,)), node)
        return "Multipart" if multipart else "Form", [found for _, found in fields.found]

    def _media(self, operation: At, key: str) -> list[str]:
        """Swagger 2.0's consumes or produces: the operation's, else the document's."""
        found = _node(operation).get(key, self.document.get(key)) or []
        return [str(m) for m in found]

    # Responses

    def response(self, operation: At) -> list[dict[str, Any]]:
        """The fields of the first 2xx response's JSON body."""
        codes = sorted((c for c, _ in _children(operation, "responses") if str(c).startswith("2")), key=str)
        if not codes:
            return []
        response = operation / "responses" / codes[0]
        for name, header in _children(response, "headers"):
            self.skip(header, f"response header '{name}' is not converted (fields are read from the body)")
        if self.swagger:
            produces = self._media(operation, "produces")
            if "schema" not in response:
                return []
            if produces and not any(_is_json(m) for m in produces):
                self.skip(response, f"response body {', '.join(produces)} is not converted (only JSON is)")
                return []
            return self.fields(response, "response", True)
        media_types = [str(m) for m, _ in _children(response, "content")]
        json_type = next((m for m in media_types if _is_json(m)), None)
        if json_type:
            return self.fields(response / "content" / json_type, "response", True)
        if media_types:
            self.skip(response, f"response body {', '.join(media_types)} is not converted (only JSON is)")
        return []

    # Schemas to fields

    def fields(self, owner: At, direction: str, required: bool) -> list[dict[str, Any]]:
        """The fields of the schema under `owner` (a media type, a body parameter or a response),
        breadth first: past MAX_FIELDS, what is left out is the most deeply nested."""
        if "schema" not in owner:
            return []
        fields = _Fields(direction, pointer(owner))
        fields.todo.append(_Visit(owner / "schema", (), required, frozenset(), ()))
        while fields.todo:
            if len(fields.found) >= MAX_FIELDS or fields.visits >= MAX_VISITS:
                self.skip(fields.where, f"a {direction} with more than {MAX_FIELDS} fields: the most deeply "
                                        "nested are not converted" if len(fields.found) >= MAX_FIELDS else
                          f"a {direction} whose schemas take more than {MAX_VISITS} steps to read: the rest "
                          "are not converted")
                break
            fields.visits += 1
            self.walk(fields, fields.todo.popleft())
        return [found for _, found in sorted(fields.found, key=lambda pair: pair[0])]

    def effective(self, schema: At) -> At:
        """The schema itself, or the one schema it wraps: `allOf: [X]`, `anyOf: [X, {type: null}]`."""
        for _ in range(MAX_DEPTH):  # wrappers of wrappers, but not forever
            node = _node(schema)
            if not isinstance(node, dict) or "properties" in node or "items" in node:
                return schema
            for key in ("allOf", "oneOf", "anyOf"):
                parts = [p for _, p in _children(schema, key) if _type(_node(p) or {}) != "null"]
                if len(parts) == 1 and len(list(_children(schema, key))) <= 2:
                    schema = parts[0]
                    break
            else:
                return schema
        return schema

    def walk(self, fields: _Fields, visit: _Visit) -> None:
        """The fields of one schema, or the schemas inside it to visit; what a $ref that cannot be
        resolved hides is listed."""
        schema, segments = visit.schema, visit.segments
        try:
            schema = self.effective(schema)
            node = _node(schema)
            if not isinstance(node, dict):
                return self.leaf(fields, visit, {})
            if id(node) in visit.ancestors:
                return self.skip(schema, "a schema that contains itself (a cycle): not expanded further")
            if segments and node.get("readOnly" if fields.direction == "request" else "writeOnly"):
                return None  # not part of a body going this way
            self.expand(fields, _Visit(schema, segments, visit.required, visit.ancestors | {id(node)}, visit.order),
                        node)
        except Unresolvable as err:
            self.skip(schema, f"not converted: {_brief(err)}")

    def expand(self, fields: _Fields, visit: _Visit, node: dict) -> None:
        schema, segments = visit.schema, visit.segments
        if _type(node) == "array":
            return self.array(fields, visit, schema / "items" if "items" in node else None)
        properties = self.properties(schema, node, visit.ancestors)
        if properties is None or (not properties and segments):
            return self.leaf(fields, visit, node)  # a value: scalar, or an object as it comes
        if len(segments) >= MAX_DEPTH:
            return self.skip(schema, f"nested deeper than {MAX_DEPTH} levels (the bound): not expanded")
        for index, (name, (child, child_required)) in enumerate(properties.items()):
            segment = _segment(name)
            if segment is None:
                self.skip(child, f"property '{name}' cannot be written as a field path")
            else:
                fields.todo.append(_Visit(child, (*segments, segment), visit.required and child_required,
                                          visit.ancestors, (*visit.order, index)))
        return None

    def array(self, fields: _Fields, visit: _Visit, items: At | None) -> None:
        segments, ancestors = visit.segments, visit.ancestors
        item = self.effective(items) if items is not None else None
        node = _node(item) if item is not None else {}
        is_records = isinstance(node, dict) and (  # a cycle is records too: walk() says it is cut
            id(node) in ancestors or self.properties(item, node, ancestors) is not None)
        if not segments:  # a root array: its elements are the records
            if not is_records:
                return self.leaf(fields, _Visit(item, ("[]",), visit.required, ancestors, visit.order),
                                 node if isinstance(node, dict) else {})
            return fields.todo.append(_Visit(item, ("[]",), True, ancestors, visit.order))
        if not is_records:  # a list of values is one field
            return self.leaf(fields, visit, {})
        if segments[-1].startswith("["):
            return self.skip(item, "an array of arrays is not converted")
        # What an element requires is required of every element there is, however optional the array.
        fields.todo.append(_Visit(item, (*segments[:-1], f"[{segments[-1]}]"), True, ancestors, visit.order))
        return None

    def properties(self, schema: At, node: dict, ancestors: frozenset[int]) -> dict[str, tuple[At, bool]] | None:
        """An object schema's properties (name → schema, required): its own, its allOf parts', and
        the union of its oneOf/anyOf variants'. None when the schema is not an object, nor are
        its variants. Worked out once a schema, however many others compose it: linear in the
        document."""
        if id(node) not in self.shapes:
            if len(ancestors) > nesting.MAX_DEPTH:
                self.skip(schema, f"schemas composed (allOf, oneOf, anyOf) more than {nesting.MAX_DEPTH} deep: "
                                  "not expanded")
                return None
            self.shapes[id(node)] = self._properties(schema, node, ancestors)
        return self.shapes[id(node)]

    def _properties(self, schema: At, node: dict, ancestors: frozenset[int]) -> dict[str, tuple[At, bool]] | None:
        required = _required(node)
        is_object = _type(node) == "object" or "properties" in node
        found = {str(name): (child, False) for name, child in _children(schema, "properties")}
        for _, part in _children(schema, "allOf"):
            part_node = _node(part)
            if isinstance(part_node, dict) and id(part_node) not in ancestors:
                required |= _required(part_node)  # a part may require what another part defines
                inner = self.properties(part, part_node, ancestors | {id(part_node)})
                if inner is not None:
                    is_object = True
                    found |= inner
        variants = [p for key in ("oneOf", "anyOf") for _, p in _children(schema, key)
                    if _type(_node(p) or {}) != "null"]
        shapes = [self.properties(v, _node(v), ancestors | {id(_node(v))}) if isinstance(_node(v), dict)
                  and id(_node(v)) not in ancestors else None for v in variants]
        objects = [shape for shape in shapes if shape is not None]
        clears = [v for v, shape in zip(variants, shapes, strict=True) if shape is None and _clears(_node(v))]
        if objects and len(objects) + len(clears) < len(shapes):  # an id or a name, or the object
            self.skip(schema, "oneOf/anyOf of objects and plain values: read as one value, as it comes")
            return {n: (s, r or n in required) for n, (s, r) in found.items()} if is_object else None
        if objects:
            is_object = True
            union: dict[str, tuple[At, bool]] = {}
            for shape in objects:
                union |= {n: v for n, v in shape.items() if n not in union}
            every = [n for n in union if all(n in shape for shape in objects)]
            if clears:
                self.skip(schema, "oneOf/anyOf: its objects' fields ('' to clear it is not converted)")
            elif len(every) < len(union):
                self.skip(schema, "oneOf/anyOf: the union of the variants' fields, each required only where "
                                  "every variant requires it")
            found |= {n: (s, n in every and all(shape[n][1] for shape in objects)) for n, (s, _) in union.items()}
        return {n: (s, r or n in required) for n, (s, r) in found.items()} if is_object else None

    def leaf(self, fields: _Fields, visit: _Visit, node: dict) -> None:
        segments = visit.segments
        if not segments:
            return self.skip(fields.where, f"a {fields.direction} body that is not an object or an array is "
                                           "not converted")
        names = [s.strip("[]\\") for s in segments]
        first_array = next((i for i, s in enumerate(segments) if s.startswith("[")), None)
        # The collection's own name says nothing about a record's field: [data].id is Id.
        short = [n for i, n in enumerate(names) if i != first_array and n]
        system = _pascal(short)
        if system in fields.names:
            system = _pascal([n for n in names if n])
        unique, n = system, 1
        while unique in fields.names:
            n += 1
            unique = f"{system}{n}"
        fields.names.add(unique)
        kind, fmt = data_type(node)
        words = " ".join(w.lower() for n in short for w in _words(n)) or "value"
        fields.found.append((visit.order, _without_none({
            "ConnectorField": ".".join(segments), "SystemField": unique,
            "DisplayField": str(node.get("title") or words[:1].upper() + words[1:]),
            "DataType": kind, "Format": fmt, "IsOptional": not visit.required,
            "Values": [v if isinstance(v, (str, int, float, bool)) else str(v)  # YAML dates, say
                       for v in node.get("enum") or [] if v is not None] or None,
            "Description": str(node["description"]) if node.get("description") else None,
        })))
        return None

    # Paging

    def paging(self, parameters: list[dict[str, Any]], method: dict[str, Any], maxima: dict[str, int]
               ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Paging controls where names make it plain (DESIGN §2); the method as it was otherwise."""
        fields = method["ResponseFormat"]["Fields"]
        if not any("[" in f["ConnectorField"] for f in fields):
            return parameters, method  # no collection: nothing to page through
        query = {_normal(p["TargetName"]): p for p in parameters if p["TargetType"] == "QueryString"}
        counts = {n: p for n, p in query.items() if p.get("DataType", "Integer") == "Integer"}
        outside = {f["ConnectorField"]: f for f in fields
                   if "[" not in f["ConnectorField"] and f["DataType"] == "Text"}
        last = {path: _normal(path.rsplit(".", 1)[-1]) for path in outside}
        size = next((p for n, p in counts.items() if n in PAGE_SIZE), None)
        token = next((p for n, p in query.items() if n in PAGE_TOKEN), None)
        next_token = next((path for path, n in last.items() if n in NEXT_TOKEN | {"next"}), None)
        next_url = next((path for path, n in last.items() if n in NEXT_URL), None)
        number = next((p for n, p in counts.items() if n in PAGE_NUMBER), None)
        offset = next((p for n, p in counts.items() if n in PAGE_OFFSET), None)
        if token and next_token:
            controls, response = [(token, "PAGE_TOKEN")], (next_token, "PAGE_TOKEN")
        elif next_url:
            controls, response = [], (next_url, "PAGE_NEXT_URL")
        elif number:
            controls, response = [(number, "PAGE_NUMBER")], None
        elif offset:
            controls, response = [(offset, "PAGE_OFFSET")], None
        else:
            return parameters, method
        if size:
            controls.append((size, "PAGE_SIZE"))
            method["PageSizeInbound"] = min(100, maxima.get(size["TargetName"], 100))
        for parameter, value in controls:
            parameter.update(Values=[value], Hide=True, IsOptional=True)
            parameter.pop("DataType", None)
        if response:
            path, value = response
            parameters = [*parameters, {"TargetType": "ResponseField", "TargetName": path, "Values": [value],
                                        "Hide": True}]
            method["ResponseFormat"]["Fields"] = [f for f in fields if f["ConnectorField"] != path]
        method["PagedInbound"] = True
        return parameters, method

