"""The connector methods a partner exposes to agents as MCP tools (api/agents/): nothing by
default; per connector, a list of methods, each write with its approval policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from connectors import Connector as ConnectorSpec
from connectors import Problem
from store import connectors
from store.custom_fields import release_for
from store.problems import Invalid
from store.tables import AccountConnector, AgentTools, utcnow

READS = {"Get"}  # the HttpMethod that reads (through data on demand); another is a write, a tool call (api/tool_calls.py)


@dataclass(frozen=True)
class Exposed:
    """One exposed method, and whether a call of it waits for a person's approval."""

    method: str
    approval: bool = False
    approval_timeout: timedelta = timedelta(hours=24)

    def document(self) -> dict[str, Any]:
        return {"Method": self.method, "Approval": self.approval,
                "ApprovalTimeoutMinutes": self.approval_timeout.total_seconds() / 60}


@dataclass(frozen=True)
class Installed:
    """An account connector whose connector exposes methods: its row, its connector as the
    account sees it (with its custom fields), and what is exposed."""

    row: AccountConnector
    connector: ConnectorSpec
    exposed: list[Exposed]


def _parsed(documents: Sequence[dict[str, Any]]) -> list[Exposed]:
    return [Exposed(d["Method"], d.get("Approval", False), timedelta(minutes=d.get("ApprovalTimeoutMinutes", 1440)))
            for d in documents]


def exposed(db: Session, connector_id: str) -> list[Exposed]:
    row = db.get(AgentTools, connector_id)
    return _parsed(row.methods) if row else []


def expose(db: Session, connector_id: str, methods: Sequence[Exposed]) -> list[Exposed]:
    """Replace what the connector exposes with `methods`, each checked against its Live release
    (its Draft before it has one); Invalid, naming each wrong entry, changes nothing."""
    release = connectors.live_release(db, connector_id) or connectors.draft_release(db, connector_id)
    spec = connectors.spec_of(release)
    known = {m.UniqueIdentifier: m for m in spec.Methods}
    problems, seen = [], set()
    for i, entry in enumerate(methods):
        path, method = f"$.Methods[{i}]", known.get(entry.method)
        if method is None:
            problems.append(Problem(f"{path}.Method", f"'{spec.Name}' has no method '{entry.method}'"))
        elif method.MethodType == "Webhook":
            problems.append(Problem(f"{path}.Method", f"'{entry.method}' is a Webhook method: it cannot be called"))
        elif entry.method in seen:
            problems.append(Problem(f"{path}.Method", f"'{entry.method}' is listed twice"))
        elif entry.approval and method.HttpMethod in READS:
            problems.append(Problem(f"{path}.Approval", f"'{entry.method}' is a read ({method.HttpMethod}): "
                                                        "only writes wait for approval"))
        seen.add(entry.method)
    if problems:
        raise Invalid(problems)
    row = db.get(AgentTools, connector_id) or AgentTools(connector_id=connector_id, methods=[])
    row.methods, row.updated_at = [m.document() for m in methods], utcnow()
    db.add(row)
    db.commit()
    return list(methods)


def installed(db: Session, account_id: str) -> list[Installed]:
    """The account's connectors that expose methods, oldest first: what its tools are made of."""
    rows = db.exec(select(AccountConnector, AgentTools)
                   .join(AgentTools, AgentTools.connector_id == AccountConnector.connector_id)
                   .where(AccountConnector.account_id == account_id)
                   .order_by(AccountConnector.created_at, AccountConnector.id)).all()
    return [Installed(row, release_for(db, row.release_id, row.id), _parsed(tools.methods))
            for row, tools in rows]
