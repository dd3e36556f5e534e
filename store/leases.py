"""Leases: work one process at a time does, without holding a transaction while it does it.

A lease is a row taken and given back in short transactions of their own, so a holder that
waits on the network (a token refresh) keeps no database lock meanwhile; a holder that dies
loses its lease when it expires.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from store.database import session
from store.tables import Lease, utcnow


def take(name: str, holder: str, duration: timedelta) -> bool:
    """Whether `holder` now holds lease `name` (it was free, or expired). Looking comes first and
    is a read: waiters polling a held lease take no write lock."""
    now = utcnow()
    with session() as db:
        if db.scalar(select(Lease.name).where(Lease.name == name, Lease.expires_at >= now)):
            return False
        expired = db.execute(update(Lease).where(Lease.name == name, Lease.expires_at < now)
                             .values(holder=holder, expires_at=now + duration))
        if expired.rowcount == 0:  # free, or just taken by another: then this insert fails
            db.add(Lease(name=name, holder=holder, expires_at=now + duration))
        try:
            db.commit()
        except IntegrityError:
            db.rollback()
            return False
        return True


def give_back(name: str, holder: str) -> None:
    with session() as db:
        db.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
        db.commit()
