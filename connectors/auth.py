"""Credentials and how each AuthType puts them on a request."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.spec import Authentication, Connector


@dataclass(frozen=True)
class Credentials:
    """What an account connector holds: AuthValue (API key, token, or base64 user:password)
    and its properties (BaseUrl, Domain, ClientId, …)."""

    auth_value: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RequestParts:
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body_fields: dict[str, Any] = field(default_factory=dict)


def _basic_pair(auth_value: str | None) -> tuple[str, str]:
    try:
        user, _, password = base64.b64decode(auth_value or "").decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password


def auth_mergefields(credentials: Credentials) -> dict[str, str]:
    user, password = _basic_pair(credentials.auth_value)
    return {"Auth_ApiKey": credentials.auth_value or "", "Auth_Username": user, "Auth_Password": password}


def apply_auth(parts: RequestParts, authentication: Authentication | None, credentials: Credentials) -> None:
    if authentication is None or authentication.AuthType == "None":
        return
    value = credentials.auth_value or ""
    match authentication.AuthType:
        case "ApiKey":
            name = authentication.ApiKeyName or "api_key"
            target = {"Header": parts.headers, "QueryString": parts.query, "Body": parts.body_fields}
            target[authentication.ApiKeyLocation or "Header"][name] = value
        case "Basic":
            parts.headers["Authorization"] = f"Basic {value}"
        case "Bearer":
            parts.headers["Authorization"] = f"Bearer {value}"
        case "OAuth2":
            pass  # the bearer token comes from the token store (connectors/oauth.py)


def secrets_of(credentials: Credentials, connector: Connector | None = None) -> list[str]:
    """Values that must never appear in an error or a log line."""
    found = [credentials.auth_value or ""]
    found += [p for p in _basic_pair(credentials.auth_value) if len(p) > 3]
    sensitive = {p.Name for p in connector.Parameters if p.IsSensitive} if connector else set()
    sensitive |= {"ClientSecret"}
    found += [v for k, v in credentials.properties.items() if k in sensitive]
    return [s for s in found if s]
