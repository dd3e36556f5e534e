"""Timestamped HMAC signatures: how webhooks sent to Cyclewright are signed (api/webhook_signatures.py
checks them) and how Cyclewright signs the events it sends to the partner's backend.

The header is `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with
a shared secret: the timestamp is signed with the body, so a receiver can refuse an old one.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Signature"
TIMESTAMPED = "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>"


def hmac_hex(secret: str, *parts: bytes) -> str:
    """The hex HMAC-SHA256 of the parts, one after the other."""
    digest = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for `body`, sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={hmac_hex(secret, str(timestamp).encode(), b'.', body)}"
