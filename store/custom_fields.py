"""Custom fields: what an account connector's lookups found, and its connector as it sees it.

Every place a step's method fields matter (mappings, prerequisites, plans, calls, webhook
events) loads the connector through `release_for`, so an account connector's custom fields are
part of its methods everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Row, bindparam
from sqlmodel import Session, select

from connectors import Connector, Credentials, FieldSpec, Problem
from connectors.lookups import FormatKind, with_custom_fields
from store.connections import credentials_of, load_release
from store.tables import AccountConnector, CustomFieldSet, FieldMapping, utcnow

# Made once, and run on the session's connection: every call of an account connector runs
# them, and building a statement, or ORM objects of its rows, costs several times running it.
_FOUND = select(CustomFieldSet.method, CustomFieldSet.fields).where(
    CustomFieldSet.account_connector_id == bindparam("account_connector_id"))
_INSTALLED = select(AccountConnector.__table__).where(AccountConnector.__table__.c.id == bindparam("id"))


def load_callable(db: Session, account_id: str, account_connector_id: str, at_once: bool = False
                  ) -> tuple[Row, Connector, Credentials]:
    """An account's connector ready to call: its row (the table's columns, read only: no ORM
    object), its release as it sees it (release_for) and its credentials; LookupError when the
    account has no such connector. `at_once`: as load_release's."""
    row = db.connection().execute(_INSTALLED, {"id": account_connector_id}).one_or_none()
    if row is None or row.account_id != account_id:
        raise LookupError(f"account connector {account_connector_id} does not exist")
    return row, release_for(db, row.release_id, row.id, at_once), credentials_of(row)


def release_for(db: Session, release_id: str, account_connector_id: str | None, at_once: bool = False) -> Connector:
    """The release as this account connector sees it: its methods with the custom fields found
    for them. `at_once`: as load_release's."""
    connector = load_release(db, release_id, at_once)
    if account_connector_id is None:
        return connector
    found = {row.method: fields_of(row)
             for row in db.connection().execute(_FOUND, {"account_connector_id": account_connector_id})}
    return with_custom_fields(connector, found) if found else connector


def fields_of(row: CustomFieldSet | Row) -> dict[FormatKind, list[FieldSpec]]:
    return {kind: [FieldSpec.model_validate(f) for f in fields] for kind, fields in row.fields.items()}


def get(db: Session, account_connector_id: str, method: str) -> CustomFieldSet | None:
    return db.get(CustomFieldSet, (account_connector_id, method))


def save(db: Session, account_connector_id: str, method: str, fields: Mapping[FormatKind, Sequence[FieldSpec]],
         skipped: Sequence[Problem]) -> CustomFieldSet:
    """Replace what an earlier refresh found for the method."""
    row = get(db, account_connector_id, method) or CustomFieldSet(account_connector_id=account_connector_id,
                                                                  method=method, fields={}, skipped=[])
    row.fields = {kind: [f.model_dump(exclude_defaults=True) for f in found] for kind, found in fields.items()}
    row.skipped = [{"Path": p.path, "Message": p.message} for p in skipped]
    row.refreshed_at = utcnow()
    db.add(row)
    db.commit()
    return row


def request_fields(db: Session, account_connector_id: str | None, method: str | None) -> set[str]:
    """The SystemFields of the custom request fields found for the account connector's method."""
    found = get(db, account_connector_id, method) if account_connector_id and method else None
    return {f.SystemField for f in fields_of(found).get("RequestFormat", [])} if found else set()


def account_may_set(mapping: FieldMapping | None, custom: bool) -> bool:
    """Whether the account (rather than the partner) may set a field's mapping: one the template
    left to it (UserConfigurable), or a custom field the template does not map."""
    if mapping is not None:
        return bool(mapping.mapping.get("UserConfigurable"))
    return custom
