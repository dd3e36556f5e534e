"""Payload encryption: an AES-GCM payload codec keyed by PAYLOAD_ENCRYPTION_KEY.

The setting holds `id:base64key` pairs separated by commas. The first key encrypts; every key
decrypts, so a key is rotated by putting the new one first and keeping the old ones until no
history needs them. Each encrypted payload names its key id, never the key.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

SETTING = "PAYLOAD_ENCRYPTION_KEY"
ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = (16, 24, 32)  # AES-128, -192 or -256


class PayloadUndecryptable(ValueError):
    """An encrypted payload that the configured keys cannot open."""


@dataclass(frozen=True)
class PayloadKeys:
    """Key id -> AES key, in the setting's order (the first encrypts)."""

    keys: dict[str, bytes] = field(repr=False)

    @property
    def current(self) -> str:
        return next(iter(self.keys))

    @classmethod
    def parse(cls, text: str) -> PayloadKeys:
        """The setting's value; a ValueError names the entry by position, never echoing a key."""
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(text.split(","), start=1):
            key_id, sep, encoded = entry.strip().partition(":")
            if not sep or not key_id or not encoded:
                raise ValueError(f"entry {position} is not id:base64key")
            if key_id in keys:
                raise ValueError(f"key id '{key_id}' appears twice")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise ValueError(f"key '{key_id}' is not valid base64") from None
            if len(key) not in KEY_BYTES:
                raise ValueError(f"key '{key_id}' is {len(key)} bytes; AES-GCM takes 16, 24 or 32 (32 advised)")
            keys[key_id] = key
        return cls(keys)


class EncryptionCodec(PayloadCodec):
    """Each payload becomes one encrypted payload: nonce + AES-GCM of the serialized original,
    bound to its key id (the associated data) so a payload cannot be relabelled."""

    def __init__(self, keys: PayloadKeys) -> None:
        self.current, self.key_ids = keys.current, list(keys.keys)
        self.ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(self.current, payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Payloads that are not encrypted (written before encryption was on) pass unchanged."""
        return [self._decrypt(p) if p.metadata.get("encoding") == ENCODING else p for p in payloads]

    def _encrypt(self, key_id: str, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self.ciphers.get(key_id)
        if cipher is None:
            raise PayloadUndecryptable(f"a payload is encrypted with key id '{key_id}', which {SETTING} does not "
                                       f"hold (it holds {', '.join(self.key_ids)})")
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadUndecryptable(f"a payload does not decrypt with key id '{key_id}': the key under that id "
                                       f"is not the one it was encrypted with, or the payload was altered") from None
        return Payload.FromString(plain)
