"""What a tool call shows and keeps: masked requests and records, bounded results, ids that
hold no part of the key, and a party named in every failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from activities.tool_calls import party
from api.tool_calls import view
from connectors.errors import ScriptError, StepError, Unauthorized
from connectors.exchange import shown_json
from store.crypto import encrypt
from store.tables import ToolCall
from store.tool_calls import RESULT_LIMIT, bounded, call_id

SECRET = "sk_live_0123456789abcdef"


def test_shown_json_masks_secret_names_and_sensitive_ones_and_redacts_credentials():
    data = {"Parameters": {"apiSignature": "abc", "q": "x"},
            "Fields": {"Password": "hunter2", "Note": f"token {SECRET} inside", "Nested": [{"access_token": "t"}]}}
    shown = shown_json(data, [SECRET], ["apisignature"])
    assert shown == {"Parameters": {"apiSignature": "***", "q": "x"},
                     "Fields": {"Password": "***", "Note": "token *** inside", "Nested": [{"access_token": "***"}]}}


def test_a_result_keeps_whole_records_up_to_its_limit_and_says_when_it_left_some_out():
    records = [{"Id": i, "Note": "x" * 1000} for i in range(100)]
    kept, truncated = bounded(records)
    assert truncated and 0 < len(kept) < 100 and kept == records[:len(kept)]
    assert len(json.dumps(kept)) <= RESULT_LIMIT
    assert bounded(records[:3]) == (records[:3], False)


def test_a_call_id_is_stable_per_account_and_key_and_shows_neither():
    assert call_id("acct-1", "mcp-request-7") == call_id("acct-1", "mcp-request-7")
    assert call_id("acct-1", "mcp-request-7") != call_id("acct-2", "mcp-request-7")
    assert "mcp" not in call_id("acct-1", "mcp-request-7") and len(call_id("a", "k")) == 32


def test_the_view_masks_the_request_and_links_approval_only_while_awaiting_it():
    row = ToolCall(id="c1", account_id="a", account_connector_id="ac", method="create", tool="create_lead",
                   status="AwaitingApproval", masked=["signature"], created_at=datetime.now(UTC),
                   arguments=encrypt(json.dumps({"Parameters": {"signature": "s3"}, "Fields": {"Email": "a@b.c"}})))
    shown = view(row)
    assert shown.Request == {"Parameters": {"signature": "***"}, "Fields": {"Email": "a@b.c"}}
    assert shown.Links.Approve == "/v1.0/account/tool-calls/c1/approve"
    row.status = "Running"
    assert view(row).Links.Approve is None and view(row).Links.Self == "/v1.0/account/tool-calls/c1"


def test_every_failure_names_its_party():
    assert party(StepError("bad", status=400)) == "the upstream API refused the call"
    assert party(Unauthorized("no", status=401)).endswith("refused the account connector's credentials")
    assert party(ScriptError("boom")) == "the connector's script failed"


def test_any_key_json_can_carry_makes_an_id():
    assert len(call_id("acct-1", "\udc00 lone surrogate")) == 32
