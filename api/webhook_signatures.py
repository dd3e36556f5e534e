"""Webhook signatures (X-Signature), checked as an event arrives, before anything is queued.

The signature is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
Webhook step's secret: taken within CYCLEWRIGHT_WEBHOOK_TOLERANCE_SECONDS of its timestamp, and
once (store/signatures.py), so a captured request cannot be posted again. Several v1 values may
be given (a sender changing secrets); one must match. The bare form, the hex HMAC of the body
alone (a `sha256=` prefix allowed), is taken only from steps that opt in: it can be replayed.
"""

from __future__ import annotations

import hmac
import re
import time

from api.errors import ApiError
from connectors import Problem
from connectors.signing import HEADER, TIMESTAMPED, hmac_hex
from runtime.settings import settings
from store.inbound import Webhook
from store.signatures import Signature

UNIX_SECONDS = re.compile(r"^\d{1,12}$")


def checked(hook: Webhook, body: bytes, header: str | None) -> Signature | None:
    """The signature to take with the event: None when there is none to take (the step has no
    secret, or takes the bare form and got it). 401 naming what is wrong with it."""
    secret = hook.secret
    if secret is None:
        return None
    if not header or not header.strip():
        raise _refused(f"is missing: sign each event as {TIMESTAMPED}")
    fields = [part.strip().partition("=") for part in header.split(",")]
    if not any(name in ("t", "v1") for name, _, _ in fields):
        if not hook.bare_signatures:
            raise _refused(f"has no timestamp: this webhook takes only {TIMESTAMPED}")
        if not _matches(hmac_hex(secret, body), header.strip().removeprefix("sha256=")):
            raise _refused("does not match the body")
        return None
    timestamps = [value for name, _, value in fields if name == "t"]
    given = [value for name, _, value in fields if name == "v1"]
    if len(timestamps) != 1 or not UNIX_SECONDS.match(timestamps[0]) or not given:
        raise _refused(f"is not {TIMESTAMPED}")
    timestamp = timestamps[0]
    expected = hmac_hex(secret, timestamp.encode() + b".", body)
    if not any(_matches(expected, value) for value in given):
        raise _refused("does not match the timestamp and the body")
    tolerance, age = settings().webhook_tolerance, time.time() - int(timestamp)
    if age > tolerance:
        raise _refused(f"was made {age:.0f} s ago: a signed event is taken for {tolerance:g} s after its timestamp")
    if -age > tolerance:
        raise _refused(f"has a timestamp {-age:.0f} s ahead of this server's clock (more than {tolerance:g} s)")
    return Signature(hook.step_id, expected, int(timestamp))


def replayed() -> ApiError:
    """The answer to a signature taken already: the event was accepted when it first came."""
    return ApiError(409, "this signed event was received already: each signature is taken once "
                         "(sign every delivery with its own timestamp)",
                    [Problem(HEADER, "taken already")])


def _matches(expected: str, given: str) -> bool:
    """In constant time; hex in either case (bytes: a header may hold any character)."""
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode(errors="replace"))


def _refused(what: str) -> ApiError:
    return ApiError(401, f"the {HEADER} header {what}", [Problem(HEADER, what)])
