"""A connector's partner webhook (its `PartnerWebhook`): one inbound URL for every install, as
HubSpot, Slack's Events API and Shopify apps register one webhook for all their users.

Each event names the account it is about at its `AccountField` (HubSpot's portalId, Slack's
team_id); the account connectors whose property `AccountProperty` holds that value are the
accounts it is for. The vendor signs the request with the partner's secret: `verify` checks the
connector's `Signature` scheme.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.paths import parse_path, read
from connectors.spec import Connector, PartnerWebhook, WebhookSignature
from connectors.validation import Problem

UNIX_SECONDS = re.compile(r"^\d{1,12}$")
SLACK_SIGNATURE, SLACK_TIMESTAMP = "X-Slack-Signature", "X-Slack-Request-Timestamp"


class SignatureRefused(Exception):
    """What is wrong with a request's signature; `header` names where it was looked for."""

    def __init__(self, header: str, what: str) -> None:
        super().__init__(f"the {header} header {what}")
        self.header, self.what = header, what


@dataclass(frozen=True)
class Verified:
    """A signature that matched: a timestamped one (`signed_at`) is to be taken once."""

    value: str
    signed_at: int | None = None


def account_value(webhook: PartnerWebhook, event: Any) -> str | None:
    """The value naming the event's account, as account connector properties hold it; None
    when the event has none."""
    return key(read(event, parse_path(webhook.AccountField)))


def key(value: Any) -> str | None:
    """A value as a routing key: text as it is, a number as JSON writes it; None for none."""
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return value if isinstance(value, str) else json.dumps(value)


def property_key(connector: Connector, properties: Mapping[str, str]) -> str | None:
    """The routing key of an account connector with these properties: its AccountProperty's value."""
    webhook = connector.PartnerWebhook
    return key(properties.get(webhook.AccountProperty)) if webhook else None


def verify(signature: WebhookSignature, secret: str, body: bytes, headers: Mapping[str, str], now: float,
           tolerance: float) -> Verified:
    """The request's signature if it matches the body (and, for a timestamped scheme, was made
    within `tolerance` seconds of `now`); SignatureRefused naming what is wrong otherwise.
    `headers` are looked up by lower-case name."""
    if signature.Scheme == "SlackV0":
        return _slack_v0(secret, body, headers, now, tolerance)
    header = signature.Header or ""
    given = headers.get(header.lower(), "").strip()
    if not given:
        raise SignatureRefused(header, "is missing")
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode() if signature.Encoding == "Base64" else digest.hex()
    if not _matches(expected, given.removeprefix(signature.Prefix), signature.Encoding == "Hex"):
        raise SignatureRefused(header, "does not match the body")
    return Verified(expected)


def _slack_v0(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: float) -> Verified:
    """Slack's v0: `v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">`, the timestamp in its own header."""
    timestamp = headers.get(SLACK_TIMESTAMP.lower(), "").strip()
    given = headers.get(SLACK_SIGNATURE.lower(), "").strip()
    if not UNIX_SECONDS.match(timestamp):
        raise SignatureRefused(SLACK_TIMESTAMP, "is missing, or not a time in Unix seconds")
    if not given.startswith("v0="):
        raise SignatureRefused(SLACK_SIGNATURE, "is missing, or not of the form v0=<hex>")
    expected = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    if not _matches(expected, given.removeprefix("v0="), True):
        raise SignatureRefused(SLACK_SIGNATURE, "does not match the timestamp and the body")
    age = now - int(timestamp)
    if abs(age) > tolerance:
        when = f"was made {age:.0f} s ago" if age > 0 else f"is {-age:.0f} s ahead of this server's clock"
        raise SignatureRefused(SLACK_TIMESTAMP, f"{when}: a signed event is taken within {tolerance:g} s of it")
    return Verified(expected, int(timestamp))


def _matches(expected: str, given: str, hex_digits: bool) -> bool:
    """In constant time; hex in either case (bytes: a header may hold any character)."""
    given = given.strip().lower() if hex_digits else given.strip()
    return hmac.compare_digest(expected.encode(), given.encode(errors="replace"))


def problems(connector: Connector) -> Iterator[Problem]:
    """What would route events nowhere, or check their signatures wrongly."""
    webhook = connector.PartnerWebhook
    if webhook is None:
        return
    path = "$.PartnerWebhook"
    property_ = next((p for p in connector.account_properties() if p.Name == webhook.AccountProperty), None)
    if property_ is None:
        yield Problem(f"{path}.AccountProperty", f"'{webhook.AccountProperty}' is not an account connector property "
                                                 "(a connector Parameter with IsAccountConnectorProperty)")
    elif property_.IsSensitive:
        yield Problem(f"{path}.AccountProperty", f"'{webhook.AccountProperty}' is sensitive: events are routed by a "
                                                 "value kept in the clear, such as an account's id at the vendor")
    try:
        parse_path(webhook.AccountField)
    except ValueError as err:
        yield Problem(f"{path}.AccountField", str(err))
    if not any(m.MethodType == "Webhook" for m in connector.Methods):
        yield Problem(path, "the connector has no Webhook method, so no cycle can take its events")
    signature = webhook.Signature
    if signature is not None and signature.Scheme == "HmacSha256" and not signature.Header:
        yield Problem(f"{path}.Signature.Header", "an HmacSha256 signature needs the Header that carries it")
    if signature is not None and signature.Scheme == "SlackV0" and (signature.Header or signature.Prefix):
        yield Problem(f"{path}.Signature", f"SlackV0 reads {SLACK_SIGNATURE} and {SLACK_TIMESTAMP}: it takes no "
                                           "Header or Prefix")
