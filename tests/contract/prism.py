"""Prism (@stoplight/prism-cli, from node_modules/) mocking a vendor's OpenAPI document with
`--errors`: every request is validated against the document, and what violates it is answered
with an error whose `sl-violations` header (or, for a 500, `validation` body) says why."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from connectors.egress import EgressPolicy
from connectors.transport import HttpClient, Request, Response, Send
from runtime.launcher import answers, wait_until
from tests.conftest import DATA_DIR, STARTUP_SECONDS, free_port
from tests.contract.specs import NODE_MODULES

PRISM = NODE_MODULES / ".bin" / "prism"


@dataclass
class Violation:
    request: str  # "GET /path"
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.request}: {self.location}: {self.message}"


def request_violations(response: Response) -> list[Violation]:
    """What prism found wrong with the request `response` answers (its response's own faults,
    which prism also reports, are the document's, not the caller's)."""
    found: list[dict[str, Any]] = []
    if "sl-violations" in response.headers:
        found += json.loads(response.headers["sl-violations"])
    if response.status_code >= 500 and "problem+json" in response.headers.get("content-type", ""):
        found += json.loads(response.content).get("validation") or []
    request = f"{response.request.method} {response.request.url.raw_path}"
    return [Violation(request, ".".join(str(p) for p in v.get("location") or []), str(v.get("message")))
            for v in found if (v.get("location") or ["request"])[0] == "request"]


@dataclass
class Prism:
    """One prism process mocking one document; `seen` collects every request's violations."""

    document: Path
    name: str
    port: int = field(default_factory=free_port)
    seen: list[Violation] = field(default_factory=list)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        log = DATA_DIR / f"prism-{self.name}.log"
        with open(log, "ab") as out:
            self.process = subprocess.Popen([str(PRISM), "mock", "--errors", "-h", "127.0.0.1", "-p", str(self.port),
                                             str(self.document)], stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: self.process.poll() is not None or answers(self.url), f"prism for {self.name}",
                       STARTUP_SECONDS)
        except SystemExit as err:
            self.__exit__()
            raise AssertionError(str(err)) from None
        assert self.process.poll() is None, f"prism exited: {log.read_text()[-2000:]}"
        return self

    def __exit__(self, *_: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def record(self, response: Response) -> None:
        """A `client` response hook: keep the violations prism reports."""
        self.seen += request_violations(response)


def client(*, sent: Callable[[Request], None] | None = None,
           answered: Callable[[Response], None] | None = None) -> HttpClient:
    """The engine's HTTP client, allowed to call the local mocks, telling `sent` each request
    and `answered` each response."""
    http = HttpClient(EgressPolicy.parse("127.0.0.0/8"), 60)

    async def observe(request: Request, send: Send) -> Response:
        if sent:
            sent(request)
        response = await send(request)
        if answered:
            answered(response)
        return response

    http.observe = observe
    return http
