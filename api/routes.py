"""Which route a request is for, found once and before anything is done for it: its lane
(api/admission.py), its template (the name of its span: runtime/telemetry.py) and the ids its
path names (on its log lines and span: runtime/context.py).

Routes are filed by the first two segments of their path, so finding one tries the few routes
that share them, not every route of the API. FastAPI routes the request again afterwards; this
table only decides what happens before it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

if TYPE_CHECKING:
    from api.admission import Lane

IDS = ("cycle_id", "step_id", "account_id")  # path parameters that are context ids


@dataclass(frozen=True)
class Route:
    template: str  # "/v1.0/cycles/{cycle_id}"
    lane: Lane | None  # None: the control lane (answered however busy the rest is)
    pattern: re.Pattern[str]
    methods: frozenset[str]


@dataclass(frozen=True)
class Found:
    route: Route
    params: dict[str, str]


def _prefix(path: str) -> str:
    return "/".join(path.split("/", 3)[:3])


class Routes:
    def __init__(self) -> None:
        self._by_prefix: dict[str, list[Route]] = {}

    def add(self, routes: Iterable[object], lane: Callable[[APIRoute], Lane | None]) -> None:
        """A router's routes, each in the lane `lane` gives it."""
        for route in routes:
            if not isinstance(route, APIRoute):
                continue
            prefix = _prefix(route.path)
            if "{" in prefix:
                raise ValueError(f"{route.path}: a route's first two path segments must be fixed (api/routes.py)")
            self._by_prefix.setdefault(prefix, []).append(
                Route(route.path, lane(route), route.path_regex, frozenset(route.methods)))

    def find(self, method: str, path: str) -> Found | None:
        """The route for the request, None for a path or method no route has (FastAPI answers it)."""
        for route in self._by_prefix.get(_prefix(path), ()):
            if method in route.methods and (match := route.pattern.match(path)):
                return Found(route, match.groupdict())
        return None


def needs(dependant: Dependant, call: Callable) -> bool:
    """Whether a route (its `dependant`) depends on `call`, directly or through another dependency."""
    return dependant.call is call or any(needs(d, call) for d in dependant.dependencies)
