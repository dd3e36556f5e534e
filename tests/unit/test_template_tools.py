"""A template tool's arguments as the event's text (api/agents/template_tools.py)."""

from __future__ import annotations

import json

from api.agents.template_tools import _event_text


def test_the_event_text_is_utf8_as_a_sender_posts_it_and_escapes_only_what_utf8_cannot_hold():
    assert _event_text({"name": "Zoë 東京"}) == '{"name": "Zoë 東京"}'  # its size as posted, not 6 bytes a character
    text = _event_text({"name": "a\ud800b"})  # a lone surrogate: valid JSON text, not UTF-8
    assert text == '{"name": "a\\ud800b"}' and json.loads(text) == {"name": "a\ud800b"}
    text.encode()  # storable
