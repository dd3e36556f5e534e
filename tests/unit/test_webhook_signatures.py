"""X-Signature as the webhook endpoint reads it: whatever a sender puts in the header is a 401
naming what is wrong (never a 500), and only a match within the window is taken."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from api.errors import ApiError
from api.webhook_signatures import checked
from runtime.settings import settings
from store.inbound import Webhook

SECRET = "s3cret-signing-key"
BODY = b'{"email": "a@example.com"}'
SIGNED = Webhook("cycle-1", "step-1", SECRET)


def signature(t: int | str, body: bytes = BODY) -> str:
    return f"t={t},v1={hmac.new(SECRET.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def refusal(hook: Webhook, header: str | None) -> str:
    with pytest.raises(ApiError) as refused:
        checked(hook, BODY, header)
    assert refused.value.status == 401 and refused.value.problems[0].path == "X-Signature"
    return refused.value.message


def test_a_timestamped_signature_is_taken_until_its_window_closes():
    now = int(time.time())
    taken = checked(SIGNED, BODY, signature(now))
    assert taken is not None and (taken.step_id, taken.signed_at) == ("step-1", now)
    assert taken.value == signature(now).split("v1=")[1]
    assert checked(SIGNED, BODY, signature(now).upper().replace("T=", "t=").replace("V1=", "v1=")) == taken
    assert checked(Webhook("cycle-1", "step-1", None), BODY, None) is None  # no secret: nothing to check


@pytest.mark.parametrize(("header", "says"), [
    (None, "is missing"),
    ("  ", "is missing"),
    ("t=12,t=13,v1=ab", "is not t=<unix seconds>,v1="),
    ("t=-5,v1=ab", "is not t=<unix seconds>,v1="),
    (f"t={'9' * 400},v1=ab", "is not t=<unix seconds>,v1="),  # no float overflow: a 401
    ("t=1700000000,v1=", "does not match"),
    ("t=1700000000,v1=é✓\x00", "does not match"),  # any character: a 401, not a 500
    ("t=1700000000", "is not t=<unix seconds>,v1="),
    ("v1=ab", "is not t=<unix seconds>,v1="),
    ("sha256=abc", "has no timestamp"),
])
def test_anything_else_is_refused_naming_what_is_wrong(header, says):
    assert says in refusal(SIGNED, header)


def test_the_window_holds_both_ways_and_is_checked_after_the_signature():
    tolerance = settings().webhook_tolerance
    assert "s ago" in refusal(SIGNED, signature(int(time.time() - tolerance - 5)))
    assert "ahead of this server's clock" in refusal(SIGNED, signature(int(time.time() + tolerance + 5)))
    forged = signature(int(time.time() - tolerance - 5)).replace("v1=", "v1=0")
    assert "does not match" in refusal(SIGNED, forged)  # an old forgery learns nothing of the window


def test_the_bare_form_only_where_the_step_opts_in():
    bare = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert "has no timestamp" in refusal(SIGNED, bare)
    opted_in = Webhook("cycle-1", "step-1", SECRET, bare_signatures=True)
    assert checked(opted_in, BODY, bare) is None and checked(opted_in, BODY, f"sha256={bare}") is None
    assert "does not match the body" in refusal(opted_in, "0" * 64)
    assert checked(opted_in, BODY, signature(int(time.time()))) is not None  # the timestamped form too
