"""Account connectors as the engine needs them: the connector spec and decrypted credentials."""

from __future__ import annotations

from sqlmodel import Session

from connectors import Connector, Credentials, parse_connector
from store.crypto import decrypt, decrypt_json
from store.tables import AccountConnector, ConnectorRelease


def load_release(db: Session, release_id: str) -> Connector:
    return parse_connector(db.get(ConnectorRelease, release_id).document)


def load_credentials(db: Session, account_connector_id: str) -> tuple[AccountConnector, Credentials]:
    row = db.get(AccountConnector, account_connector_id)
    if row is None:
        raise LookupError(f"account connector {account_connector_id} does not exist")
    return row, Credentials(auth_value=decrypt(row.auth_value), properties=decrypt_json(row.properties))
