"""Credentials and how each AuthType puts them on a request."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import InvalidCredentials
from connectors.mergefields import names
from connectors.spec import Authentication, Connector


@dataclass(frozen=True)
class Credentials:
    """What an account connector holds: AuthValue (API key, token, or base64 user:password)
    and its properties (BaseUrl, Domain, ClientId, …)."""

    auth_value: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    authentication: str | None = None  # the Authentication's Name the account chose (None: the default)


@dataclass
class RequestParts:
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str | list[str]] = field(default_factory=dict)  # a list repeats the name
    body_fields: dict[str, Any] = field(default_factory=dict)


BASIC_FORMAT = "the AuthValue must be the base64 of 'user:password'"


def _basic_pair(auth_value: str | None) -> tuple[str, str] | None:
    """User and password from a base64 AuthValue; None when it is not base64 of UTF-8."""
    try:
        user, _, password = base64.b64decode(auth_value or "").decode().partition(":")
    except ValueError:  # binascii.Error, non-ASCII text and UnicodeDecodeError all are
        return None
    return user, password


class _Undecodable:
    """{{Auth_Username}} or {{Auth_Password}} when the AuthValue does not decode: rendering it
    raises, so only a connector that uses them fails, and each of its calls does."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        raise InvalidCredentials(f"{{{{{self.name}}}}} cannot be sent: {BASIC_FORMAT}")


AUTH_MERGEFIELDS = frozenset({"Auth_ApiKey", "Auth_Username", "Auth_Password"})


def carries_credentials(template: str | None) -> bool:
    """Whether rendering `template` puts the account connector's credentials in it."""
    return bool(names(template or "") & AUTH_MERGEFIELDS)


def auth_mergefields(credentials: Credentials) -> dict[str, Any]:
    user, password = _basic_pair(credentials.auth_value) or (_Undecodable("Auth_Username"),
                                                             _Undecodable("Auth_Password"))
    return {"Auth_ApiKey": credentials.auth_value or "", "Auth_Username": user, "Auth_Password": password}


def auth_header(authentication: Authentication | None) -> str | None:
    """The header apply_auth puts the AuthValue in, if any."""
    match authentication.AuthType if authentication else None:
        case "ApiKey" if (authentication.ApiKeyLocation or "Header") == "Header":
            return authentication.ApiKeyName or "api_key"
        case "Basic" | "Bearer":
            return "Authorization"
    return None


def _header_problem(authentication: Authentication | None, auth_value: str | None) -> str | None:
    # HTTP header values are ASCII; the engine refuses a non-ASCII one on every try.
    header = auth_header(authentication)
    if header and not (auth_value or "").isascii():
        return f"the AuthValue cannot be sent in the '{header}' header: it must be ASCII"
    return None


def auth_value_problem(authentication: Authentication | None, auth_value: str | None) -> str | None:
    """Why `auth_value` can never work with `authentication` (None: it may), without quoting it."""
    if problem := _header_problem(authentication, auth_value):
        return problem
    if authentication and authentication.AuthType == "Basic":
        try:
            decoded = base64.b64decode(auth_value or "", validate=True).decode()
        except ValueError:
            return BASIC_FORMAT
        if ":" not in decoded:
            return BASIC_FORMAT
    return None


def apply_auth(parts: RequestParts, authentication: Authentication | None, credentials: Credentials) -> None:
    if authentication is None or authentication.AuthType == "None":
        return
    value = credentials.auth_value or ""
    if problem := _header_problem(authentication, value):
        raise InvalidCredentials(problem)
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
    found += list(_basic_pair(credentials.auth_value) or ())  # redact() skips the short ones
    sensitive = {p.Name for p in connector.Parameters if p.IsSensitive} if connector else set()
    sensitive |= {"ClientSecret"}
    found += [v for k, v in credentials.properties.items() if k in sensitive]
    return [s for s in found if s]
