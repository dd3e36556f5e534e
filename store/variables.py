"""Cycle and account variables, the values of `Variable` field mappings.

A cycle's variable overrides the account's of the same name. Names are mergefield names.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from connectors import Problem
from store import patterns
from store.problems import Invalid
from store.tables import Variable, utcnow

TABLE = Variable.__table__
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}


def put(db: Session, owner_id: str, name: str, value: str) -> None:
    """Set the variable of the cycle or account `owner_id`; Invalid, saving nothing, when a
    Decision reads its Matches pattern from it and the value is no pattern RE2 takes."""
    uses = patterns.variable_uses(db, owner_id, name)
    if uses and (problem := patterns.problem(value)) is not None:
        raise Invalid([Problem("$.Value", f"variable '{name}' is the Matches pattern of step '{uses[0].step_name}' "
                                          f"of cycle {uses[0].cycle_id}: {problem}")])
    # An upsert: two callers setting a new variable at once both succeed (the last one wins).
    insert = _DIALECTS[db.get_bind().dialect.name].insert(TABLE)
    db.execute(insert.values(owner_id=owner_id, name=name, value=value, updated_at=utcnow())
               .on_conflict_do_update(index_elements=["owner_id", "name"],
                                      set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at}))
    db.commit()


def delete(db: Session, owner_id: str, name: str) -> bool:
    """Whether there was such a variable."""
    deleted = db.execute(TABLE.delete().where(TABLE.c.owner_id == owner_id, TABLE.c.name == name)).rowcount
    db.commit()
    return deleted > 0


def listing(db: Session, owner_id: str) -> dict[str, str]:
    rows = db.execute(select(TABLE.c.name, TABLE.c.value).where(TABLE.c.owner_id == owner_id).order_by(TABLE.c.name))
    return {name: value for name, value in rows}


def resolve(db: Session, cycle_id: str, account_id: str) -> dict[str, str]:
    """The variables a cycle's mappings see: the account's, overridden by the cycle's."""
    return {**listing(db, account_id), **listing(db, cycle_id)}
