"""One bound on how deeply JSON nests (connectors/nesting.py), checked before anything recursive
parses the data: text by a linear scan, parsed data by an iterative walk."""

from __future__ import annotations

import json
import random
import sys

import httpx
import pytest
from yarl import URL

from activities.failures import RecursionIsFinal
from connectors import ConnectorError, nesting
from connectors.bodies import decode
from connectors.exchange import exchange_of
from connectors.nesting import MAX_DEPTH, TooDeep, check, check_text, depth_of_text, loads
from connectors.spec import Method
from connectors.transport import build_request
from tests.mock_http import answered

DEEP = "[" * 200_000 + "]" * 200_000  # as deep as the issue's: far past Python's recursion limit


def nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "[1]" + "}" * (depth - 1)


@pytest.mark.parametrize(("text", "depth"), [
    ("1", 0), ("[]", 1), ('{"a": [1]}', 2), ('"[[[["', 0), (r'"\"[[["', 0), (r'["]]]\\", []]', 2),
    ('[["]]]"]]', 2), ("", 0), ("[[[", 3),
])
def test_depth_of_json_text_counts_brackets_outside_strings(text, depth):
    assert depth_of_text(text) == depth
    assert depth_of_text(text.encode("utf-16")) == depth  # as json.loads reads bytes


def test_the_bound_is_the_same_for_text_and_for_parsed_data():
    assert loads(nested(MAX_DEPTH), "it") == json.loads(nested(MAX_DEPTH))
    check(json.loads(nested(MAX_DEPTH)), "it")
    with pytest.raises(TooDeep, match=f"the body is nested deeper than {MAX_DEPTH} levels"):
        loads(nested(MAX_DEPTH + 1), "the body")
    with pytest.raises(TooDeep):
        check(json.loads(nested(MAX_DEPTH + 1)), "the body")


def test_text_far_past_the_recursion_limit_is_too_deep_not_a_recursion_error():
    assert depth_of_text(DEEP) > sys.getrecursionlimit()
    with pytest.raises(RecursionError):
        json.loads(DEEP)  # the premise: what stdlib json does with it
    with pytest.raises(TooDeep):
        loads(DEEP, "the body")
    with pytest.raises(TooDeep):
        check_text(DEEP.encode(), "the body")


def test_text_that_is_not_json_is_a_value_error_as_before():
    with pytest.raises(ValueError):
        loads("{nope", "the body")
    assert not isinstance(TooDeep("x"), ValueError)  # callers tell the two apart


def test_an_unterminated_string_of_escaped_quotes_is_scanned_in_one_pass():
    # Each escaped quote could start a string that never ends: a backtracking scan of the usual
    # pattern would rescan the rest from each (quadratic); this one matches once, to the end.
    assert depth_of_text('"' + '\\"' * 200_000 + "\\") == 0
    assert depth_of_text("[" + '"' + '\\"' * 200_000) == 1


def test_parsed_data_shared_or_looping_is_walked_once_per_depth():
    shared: list = []
    for _ in range(60):
        shared = [shared, shared]  # 2**60 paths, 61 lists
    assert check(shared, "it") is shared
    looping: list = []
    looping.append(looping)  # a YAML alias can make a container contain itself
    with pytest.raises(TooDeep):
        check(looping, "it")


def test_too_deep_is_a_connector_error_that_is_not_retried():
    err = TooDeep("the response body")
    assert isinstance(err, ConnectorError) and not err.retryable


def test_an_upstream_body_too_deep_is_refused_json_or_xml():
    method = Method.model_validate({"UniqueIdentifier": "m", "Name": "m", "HttpMethod": "Get",
                                    "Endpoint": "https://example.com/x"})
    request = build_request("GET", URL("https://example.com/x"), {})
    with pytest.raises(TooDeep, match="the response body"):
        decode(method, answered(httpx.Response(200, content=DEEP), request))
    xml = "<a>" * (MAX_DEPTH + 1) + "</a>" * (MAX_DEPTH + 1)
    with pytest.raises(TooDeep, match="the response body"):
        decode(method, answered(httpx.Response(200, content=xml, headers={"Content-Type": "application/xml"}),
                                request))
    assert decode(method, answered(httpx.Response(200, content=nested(MAX_DEPTH)), request))


def test_the_debugger_shows_a_body_too_deep_to_mask_as_a_note():
    request = build_request("POST", URL("https://example.com/x"), {"Content-Type": "application/json"}, content=DEEP)
    shown = exchange_of(request, answered(httpx.Response(200, content=DEEP), request), [])
    assert shown.request_body == shown.response_body
    assert shown.request_body.startswith(f"(the body is nested deeper than {MAX_DEPTH} levels")


async def test_a_recursion_error_in_an_activity_is_a_failure_never_retried():
    from temporalio.exceptions import ApplicationError

    class Recursing:
        async def execute_activity(self, _):
            return json.loads(DEEP)

    with pytest.raises(ApplicationError) as raised:
        await RecursionIsFinal().intercept_activity(Recursing()).execute_activity(None)
    assert raised.value.non_retryable and raised.value.type == "RecursionError"
    assert f"{nesting.MAX_DEPTH} levels" in raised.value.message


def _depth_char_by_char(text: str) -> int:
    """The depth as a parser reaches it, one character at a time (exact for a valid prefix)."""
    in_string = escaped = False
    depth = deepest = 0
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def test_the_scan_is_exact_for_json_and_never_less_than_a_parser_reaches_in_other_text():
    rnd = random.Random(7)
    pieces = ["[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "a", "n", "u00e9", ",", ":", "1", "é", "\u2603"]
    for _ in range(20_000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 24)))
        try:
            json.loads(text)
            stopped = len(text)
        except json.JSONDecodeError as err:
            stopped = err.pos
        assert depth_of_text(text) >= _depth_char_by_char(text[:stopped]), text
        document = json.dumps([text, {text: [text]}], ensure_ascii=rnd.random() < 0.5)
        assert depth_of_text(document) == _depth_char_by_char(document) == 3, document
