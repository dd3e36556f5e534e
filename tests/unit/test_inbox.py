"""The webhook endpoint's memory of webhooks: ids a caller makes up are not kept."""

from __future__ import annotations

from api.routers import webhooks
from store.inbound import Webhook


async def test_unknown_ids_are_not_remembered_and_known_ones_are(monkeypatch):
    hooks = {"real": Webhook("cycle-1", "step-1", None)}
    looked_up = []
    monkeypatch.setattr(webhooks, "_webhook", lambda webhook_id: looked_up.append(webhook_id) or hooks.get(webhook_id))
    inbox = webhooks.Inbox(temporal=None)
    for i in range(1000):
        assert await inbox.webhook(f"made-up-{i}") is None
    assert await inbox.webhook("real") == hooks["real"]
    assert await inbox.webhook("real") == hooks["real"]
    assert list(inbox.known) == ["real"] and looked_up.count("real") == 1  # the second came from memory
