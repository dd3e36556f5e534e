"""Encryption of credentials at rest (Fernet: AES-128-CBC with HMAC)."""

from __future__ import annotations

import json
from functools import cache

from cryptography.fernet import Fernet


@cache
def _fernet() -> Fernet:
    from runtime.settings import settings

    return Fernet(settings().secret_key.encode())


def encrypt(text: str | None) -> str | None:
    return None if text is None else _fernet().encrypt(text.encode()).decode()


def decrypt(token: str | None) -> str | None:
    return None if token is None else _fernet().decrypt(token.encode()).decode()


def encrypt_json(value: dict[str, str]) -> str:
    return encrypt(json.dumps(value))  # type: ignore[return-value]


def decrypt_json(token: str | None) -> dict[str, str]:
    return {} if token is None else json.loads(decrypt(token))  # type: ignore[arg-type]
