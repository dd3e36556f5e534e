"""The catalog of real vendors' connectors (catalog/vendors/*.json): curated from each vendor's own
OpenAPI document, installed by name (`cyclewright connector install NAME`, or the API's
`POST /v1.0/catalog/{name}/install`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from connectors.paging import Paging
from connectors.spec import Connector
from connectors.validation import parse_connector

VENDORS = Path(__file__).resolve().parent.parent / "catalog" / "vendors"


@dataclass(frozen=True)
class Entry:
    name: str  # the file's stem: what `install` takes (github, stripe, …)
    document: dict
    connector: Connector

    @property
    def authentication(self) -> list[str]:
        """Each way to authenticate, as the vendor documents it (OAuth2's grant, or the kind)."""
        return [f"{a.AuthType} ({a.OAuth2Type})" if a.OAuth2Type else a.AuthType for a in self.connector.Authentication]

    @property
    def paging(self) -> list[str]:
        """The paging styles its paged methods use."""
        styles = {Paging.of(self.connector, m, m.Parameters).style for m in self.connector.Methods}
        return sorted(s for s in styles if s)


@cache
def entries() -> dict[str, Entry]:
    """Every catalog connector by name, read and checked once."""
    found = {}
    for path in sorted(VENDORS.glob("*.json")):
        document = json.loads(path.read_text())
        found[path.stem] = Entry(path.stem, document, parse_connector(document))
    return found


def entry(name: str) -> Entry | None:
    return entries().get(name.lower())
