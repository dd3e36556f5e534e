"""Whether a URL can be sent to at all: checked before sending, and by the API up front."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache

from yarl import URL

from connectors.errors import InvalidUrl, redact
from connectors.mergefields import PATTERN, names, render
from connectors.spec import Connector

SCHEMES = ("http", "https")
PLACEHOLDER = "x"  # stands for mergefields the API cannot know yet (step fields, built-ins)


def checked_url(url: str, secrets: Iterable[str] = (), what: str = "the URL") -> URL:
    """`url` parsed, or InvalidUrl: it would fail on every try, and a retry cannot help."""
    parsed = _parsed(url)
    if isinstance(parsed, URL):
        return parsed
    problem, secrets = parsed, list(secrets)
    shown, problem = redact(url, secrets), redact(problem, secrets)
    raise InvalidUrl(f"{what} '{shown}' {problem}", url=shown, problem=problem)


@lru_cache(maxsize=4096)
def _parsed(url: str) -> URL | str:
    """The parsed URL, or what is wrong with it. Most calls of a step share their URL, and
    parsing is a good part of a call's cost."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as err:
        return f"is not a valid URL ({err})"
    if parsed.scheme in SCHEMES and parsed.host:
        return parsed
    return "has no host" if parsed.scheme in SCHEMES else "is not an http(s) URL"


Origin = tuple[str, str, int]
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: URL) -> Origin:
    return url.scheme, url.raw_host or "", url.port or DEFAULT_PORTS.get(url.scheme, 0)


def endpoint_origin(endpoint: str, known: Mapping[str, str]) -> Origin | None:
    """The origin `endpoint` calls, rendered with `known` values (a placeholder for the rest):
    None when the known values do not fix it."""
    return _endpoint_origin(endpoint, tuple((name, known[name]) for name in names(endpoint) if name in known))


@lru_cache(maxsize=4096)
def _endpoint_origin(endpoint: str, known: tuple[tuple[str, str], ...]) -> Origin | None:
    """Cached: every call asks it for its method's endpoint with its account's values."""
    parsed = _parsed(render(endpoint, {name: PLACEHOLDER for name in names(endpoint)} | dict(known)))
    return origin_of(parsed) if isinstance(parsed, URL) else None


def endpoint_problems(
    connector: Connector, properties: Mapping[str, str], checked: Collection[str], secrets: Iterable[str] = ()
) -> dict[str, str]:
    """For each property named in `checked` that makes a method's Endpoint unsendable, why.

    Endpoints are rendered with `properties` (all of the account connector's), connector
    defaults, and a placeholder for anything else. An endpoint that starts with a mergefield
    neither known nor defaulted is skipped: its scheme and host are not the properties' doing.
    """
    secrets = list(secrets)
    known = connector.property_values(properties)
    found: dict[str, str] = {}
    for method in connector.Methods:
        used = names(method.Endpoint) & set(checked) - set(found)
        lead = PATTERN.match(method.Endpoint)
        if not used or (lead and lead.group(1) not in known):
            continue
        values = {name: PLACEHOLDER for name in names(method.Endpoint)} | known
        try:
            checked_url(render(method.Endpoint, values), secrets)
        except InvalidUrl as err:
            for name in sorted(used):
                found[name] = (f"with property '{name}', method '{method.UniqueIdentifier}' would call "
                               f"'{err.url}', which {err.problem}")
    return found
