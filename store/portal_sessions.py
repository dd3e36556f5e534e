"""Portal sessions: the connect portal opened for one account, with the partner's options."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session

from connectors.dates import as_utc  # SQLite drops the zone of stored times
from store.tables import PortalSession


def create(db: Session, account_id: str, options: dict[str, Any], lifetime: timedelta) -> PortalSession:
    """A new session; the account's expired ones are deleted on the way (nothing else reads them)."""
    now = datetime.now(UTC)
    db.execute(delete(PortalSession).where(PortalSession.account_id == account_id, PortalSession.expires_at < now))
    row = PortalSession(account_id=account_id, options=options, expires_at=now + lifetime)
    db.add(row)
    db.commit()
    return row


def live(db: Session, session_id: str) -> PortalSession | None:
    """The session, unless it is unknown or expired."""
    row = db.get(PortalSession, session_id)
    return row if row is not None and as_utc(row.expires_at) > datetime.now(UTC) else None


def listed_templates(db: Session, claims: dict) -> set[str] | None:
    """The templates a portal session's token may see and install; None: every template (a
    partner or account token, or a session that lists them all)."""
    if claims.get("session") is None:
        return None
    row = db.get(PortalSession, claims["session"])
    listed = row.options.get("Templates") if row is not None else []
    return None if listed is None else set(listed)
