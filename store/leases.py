"""Leases: work one process at a time does, without holding a transaction while it does it.

A lease is a row taken and given back in short transactions of their own, so a holder that
waits on the network (a token refresh) keeps no database lock meanwhile; a holder that dies
loses its lease when it expires.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from store.database import session
from store.tables import Lease, utcnow


def take(name: str, holder: str, duration: timedelta) -> bool:
    """Whether `holder` now holds lease `name` (free, or expired, or already its own)."""
    now = utcnow()
    with session() as db:
        try:
            db.add(Lease(name=name, holder=holder, expires_at=now + duration))
            db.commit()
            return True
        except IntegrityError:
            db.rollback()
        taken = db.execute(update(Lease).where(Lease.name == name, Lease.expires_at < now)
                           .values(holder=holder, expires_at=now + duration))
        db.commit()
        return taken.rowcount == 1


def give_back(name: str, holder: str) -> None:
    with session() as db:
        db.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
        db.commit()
