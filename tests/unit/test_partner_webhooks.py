"""A connector's PartnerWebhook: the value that routes an event, the signature schemes, and what
is refused at upload."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac

import pytest

from connectors import ConnectorInvalid, Problem, parse_connector
from connectors.partner_webhooks import (
    SignatureRefused,
    Verified,
    account_value,
    property_key,
    verify,
)
from connectors.spec import PartnerWebhook, WebhookSignature
from tests.e2e.test_partner_webhooks import PORTALS

SECRET, BODY, NOW = "app-secret", b'{"team_id": "T1"}', 1_800_000_000


def test_the_routing_value_is_read_at_the_account_field_as_properties_hold_it():
    webhook = PartnerWebhook(AccountProperty="PortalId", AccountField="portal.id")
    assert account_value(webhook, {"portal": {"id": 62515}}) == "62515"
    assert account_value(webhook, {"portal": {"id": "62515"}}) == "62515"
    assert account_value(webhook, {"portal": {"id": True}}) == "true"
    for nothing in ({"portal": {}}, {"portal": {"id": ""}}, {"portal": {"id": [1]}}, [1], "text", None):
        assert account_value(webhook, nothing) is None
    connector = parse_connector(PORTALS)
    assert property_key(connector, {"PortalId": "101", "BaseUrl": "https://a"}) == "101"
    assert property_key(connector, {"BaseUrl": "https://a"}) is None


def hmac_of(body: bytes, *prefix: bytes) -> bytes:
    return hmac.new(SECRET.encode(), b"".join(prefix) + body, hashlib.sha256).digest()


def test_an_hmac_of_the_body_in_hex_or_base64_with_a_prefix():
    hex_scheme = WebhookSignature(Scheme="HmacSha256", Header="X-Hub-Signature-256", Prefix="sha256=")
    signed = {"x-hub-signature-256": "sha256=" + hmac_of(BODY).hex().upper()}
    assert verify(hex_scheme, SECRET, BODY, signed, NOW, 300) == Verified(hmac_of(BODY).hex())
    base64_scheme = WebhookSignature(Scheme="HmacSha256", Header="X-Shopify-Hmac-Sha256", Encoding="Base64")
    assert verify(base64_scheme, SECRET, BODY, {"x-shopify-hmac-sha256": base64.b64encode(hmac_of(BODY)).decode()},
                  NOW, 300).signed_at is None  # untimestamped: nothing to take once
    for headers, what in (({}, "is missing"), ({"x-hub-signature-256": "sha256=00"}, "does not match the body")):
        with pytest.raises(SignatureRefused) as refused:
            verify(hex_scheme, SECRET, BODY, headers, NOW, 300)
        assert (refused.value.header, refused.value.what) == ("X-Hub-Signature-256", what)
    with pytest.raises(SignatureRefused):  # base64 is case-sensitive
        verify(base64_scheme, SECRET, BODY,
               {"x-shopify-hmac-sha256": base64.b64encode(hmac_of(BODY)).decode().swapcase()}, NOW, 300)


def slack(at: int, body: bytes = BODY) -> dict[str, str]:
    return {"x-slack-request-timestamp": str(at), "x-slack-signature": "v0=" + hmac_of(body, f"v0:{at}:".encode()).hex()}


def test_slacks_v0_signature_is_timestamped_and_taken_within_the_tolerance():
    scheme = WebhookSignature(Scheme="SlackV0")
    assert verify(scheme, SECRET, BODY, slack(NOW - 10), NOW, 300) == Verified(
        hmac_of(BODY, f"v0:{NOW - 10}:".encode()).hex(), NOW - 10)
    cases = [
        (slack(NOW - 301), "X-Slack-Request-Timestamp", "was made 301 s ago: a signed event is taken within 300 s of it"),
        (slack(NOW + 400), "X-Slack-Request-Timestamp", ("is 400 s ahead of this server's clock: a signed event is "
                                                        "taken within 300 s of it")),
        (slack(NOW, b"{}"), "X-Slack-Signature", "does not match the timestamp and the body"),
        ({**slack(NOW), "x-slack-request-timestamp": str(NOW + 1)}, "X-Slack-Signature",
         "does not match the timestamp and the body"),
        ({"x-slack-signature": "v0=00"}, "X-Slack-Request-Timestamp", "is missing, or not a time in Unix seconds"),
        ({**slack(NOW), "x-slack-signature": "00"}, "X-Slack-Signature", "is missing, or not of the form v0=<hex>"),
    ]
    for headers, header, what in cases:
        with pytest.raises(SignatureRefused) as refused:
            verify(scheme, SECRET, BODY, headers, NOW, 300)
        assert (refused.value.header, refused.value.what) == (header, what)


def test_a_partner_webhook_that_routes_nowhere_or_checks_wrongly_is_refused_at_upload():
    document = copy.deepcopy(PORTALS)
    document["Parameters"][1]["IsSensitive"] = True
    document["PartnerWebhook"] |= {"AccountField": "[events]..id", "Signature": {"Scheme": "HmacSha256"}}
    document["Methods"][0]["MethodType"] = "Action"
    with pytest.raises(ConnectorInvalid) as refused:
        parse_connector(document)
    assert refused.value.problems == [
        Problem("$.PartnerWebhook.AccountProperty", "'PortalId' is sensitive: events are routed by a value kept in the "
                                                    "clear, such as an account's id at the vendor"),
        Problem("$.PartnerWebhook.AccountField", "'[events]..id' is not a valid field path"),
        Problem("$.PartnerWebhook", "the connector has no Webhook method, so no cycle can take its events"),
        Problem("$.PartnerWebhook.Signature.Header", "an HmacSha256 signature needs the Header that carries it"),
    ]
    document = copy.deepcopy(PORTALS)
    document["PartnerWebhook"] |= {"AccountProperty": "Portal", "Signature": {"Scheme": "SlackV0", "Prefix": "v0="}}
    with pytest.raises(ConnectorInvalid) as refused:
        parse_connector(document)
    assert refused.value.problems == [
        Problem("$.PartnerWebhook.AccountProperty", "'Portal' is not an account connector property (a connector "
                                                    "Parameter with IsAccountConnectorProperty)"),
        Problem("$.PartnerWebhook.Signature", "SlackV0 reads X-Slack-Signature and X-Slack-Request-Timestamp: it "
                                              "takes no Header or Prefix"),
    ]
