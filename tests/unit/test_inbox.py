"""The webhook endpoint's memory of webhooks: ids a caller makes up are not kept, and events that
arrive together for a webhook not in memory share one lookup."""

from __future__ import annotations

import asyncio
import threading

import pytest

from api import inbox as webhooks
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
    assert inbox.looking == {}  # no lookup left behind


async def test_events_arriving_together_share_one_lookup_and_its_failure(monkeypatch):
    hook, looked_up, answer = Webhook("cycle-1", "step-1", None), [], threading.Event()

    def slow(webhook_id: str) -> Webhook:
        looked_up.append(webhook_id)
        answer.wait(10)
        if len(looked_up) == 1:
            raise ConnectionError("the database went away")
        return hook

    monkeypatch.setattr(webhooks, "_webhook", slow)
    inbox = webhooks.Inbox(temporal=None)
    for expected in (ConnectionError, hook):
        answer.clear()
        events = [asyncio.create_task(inbox.webhook("real")) for _ in range(50)]
        while not looked_up or len(looked_up) < (1 if expected is ConnectionError else 2):
            await asyncio.sleep(0.001)  # until the lookup is under way in its thread…
        await asyncio.sleep(0)
        assert not any(e.done() for e in events)  # …with all fifty waiting for it
        answer.set()
        if expected is ConnectionError:
            for event in events:
                with pytest.raises(ConnectionError):
                    await event
        else:
            assert await asyncio.gather(*events) == [hook] * 50
    assert looked_up == ["real", "real"]  # one lookup for fifty events, each time
    assert inbox.looking == {}
