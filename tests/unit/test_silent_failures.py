"""Mistakes that used to load and then fail silently (issue 17, acceptance 4): a misspelt paging
value (the read stopped after page 1, or never sent its cursor), a script handler misnamed (it
never ran), and field paths that can never match. Each is refused at upload, where it is, with
the nearest right spelling."""

from __future__ import annotations

import httpx
import pytest

from connectors import Connector, ConnectorInvalid, Credentials, parse_connector
from connectors.call import call_parameters, settable
from connectors.fetch import fetch_pages
from connectors.paging import Paging
from tests.mock_http import mock_client


def paged(parameters: list[dict], fields: list[dict] | None = None, **method) -> dict:
    return {"Name": "Paged", "PagedInbound": True, "PageSizeInbound": 2, "Methods": [{
        "UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get", "Endpoint": "https://api.test/items",
        "Parameters": parameters, **method,
        "ResponseFormat": {"Fields": fields or [{"ConnectorField": "[items].id", "SystemField": "Id"}]}}]}


def problems(document: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConnectorInvalid) as raised:
        parse_connector(document)
    return [(p.path, p.message) for p in raised.value.problems]


PAGE = {"TargetType": "QueryString", "TargetName": "page", "IsOptional": True}
CURSOR = {"TargetType": "QueryString", "TargetName": "cursor"}
NEXT = {"TargetType": "ResponseField", "TargetName": "next_cursor"}


@pytest.mark.parametrize(("value", "message"), [
    ("CYCLR_PAGE_NUMBR", "'CYCLR_PAGE_NUMBR' is not a paging value; did you mean 'CYCLR_PAGE_NUMBER'?"),
    ("PAGE_NUMBR", "'PAGE_NUMBR' is not a paging value; did you mean 'PAGE_NUMBER'?"),
    ("PAGE_OFSET", "'PAGE_OFSET' is not a paging value; did you mean 'PAGE_OFFSET'?"),
    ("CYCLR_NEXT_PAGE_TOKEN", "'CYCLR_NEXT_PAGE_TOKEN' is not a paging value; did you mean 'CYCLR_PAGE_TOKEN'?"),
    ("CYCLR_CURSOR", ("'CYCLR_CURSOR' is not a paging value (they are PAGE_NUMBER, PAGE_OFFSET, PAGE_SIZE, "
                     "PAGE_NEXT_URL, PAGE_TOKEN and PAGE_TOKEN_<suffix>, each also with CYCLR_ before it)")),
])
def test_a_misspelt_paging_value_is_refused_with_the_nearest(value, message):
    assert problems(paged([{**PAGE, "Values": [value]}])) == [("$.Methods[0].Parameters[0].Values[0]", message)]


async def test_the_misspelt_value_stopped_after_page_1_where_the_right_one_reads_every_page():
    """The premise, on the models alone (which the check at upload now stands before)."""
    pages = {"1": [{"id": 1}, {"id": 2}], "2": [{"id": 3}]}

    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": pages[request.url.params.get("page", "1")]})

    async def read(value: str) -> list[str]:
        connector = Connector.model_validate(paged([{**PAGE, "Values": [value]}]))
        async with mock_client(api) as client:
            fetched = await fetch_pages(client, connector, "list", credentials=Credentials())
        return [r["Id"] for r in fetched.records]

    assert await read("CYCLR_PAGE_NUMBR") == ["1", "2"]
    assert await read("CYCLR_PAGE_NUMBER") == ["1", "2", "3"]


def test_an_allowed_value_that_only_mentions_pages_is_a_value():
    connector = parse_connector(paged([{"TargetType": "QueryString", "TargetName": "metric",
                                        "Values": ["PAGE_VIEWS", "SESSIONS"]}]))
    parameters = call_parameters(connector, connector.Methods[0])
    assert settable(parameters[0]) and Paging.of(connector, connector.Methods[0], parameters).style == "next_url"


def test_a_token_read_but_never_sent_or_sent_but_never_read_is_refused():
    read_only = paged([{**NEXT, "Values": ["PAGE_TOKEN"]}])
    assert problems(read_only) == [("$.Methods[0].Parameters[0].Values", ("PAGE_TOKEN is read from each response "
                                                                         "but no QueryString or HttpHeader parameter sends it"))]
    mismatched = paged([{**NEXT, "Values": ["PAGE_TOKEN_AFTER"]}, {**CURSOR, "Values": ["PAGE_TOKEN"]}])
    assert [path for path, _ in problems(mismatched)] == ["$.Methods[0].Parameters[0].Values",
                                                          "$.Methods[0].Parameters[1].Values"]
    # A pair split between the connector and the method works; an unpaged method pages nothing.
    split = {**paged([{**NEXT, "Values": ["CYCLR_PAGE_TOKEN"]}]), "Parameters": [{**CURSOR, "Values": ["PAGE_TOKEN"]}]}
    parse_connector(split)
    parse_connector({**read_only, "PagedInbound": False})


def test_a_paging_value_where_it_does_nothing_is_refused():
    assert problems(paged([{"TargetType": "MergeField", "Name": "page", "Values": ["PAGE_NUMBER"]},
                           {"TargetType": "QueryString", "TargetName": "next", "Values": ["PAGE_NEXT_URL"]}])) == [
        ("$.Methods[0].Parameters[0].Values", ("PAGE_NUMBER is sent with each page's request: put it on a "
                                              "QueryString or HttpHeader parameter")),
        ("$.Methods[0].Parameters[1].Values", ("PAGE_NEXT_URL is read from each response: put it on a "
                                              "ResponseField parameter"))]


@pytest.mark.parametrize(("script", "name", "event"), [
    ("function action_before() { return true; }", "action_before", "before_action"),
    ("function beforeAction() { return true; }", "beforeAction", "before_action"),
    ("var after_acton = function () { return true; };", "after_acton", "after_action"),
    ("const AfterError = () => false;", "AfterError", "after_error"),
])
def test_a_script_function_misnamed_is_refused_naming_the_event(script, name, event):
    assert problems(paged([], Script=script)) == [
        ("$.Methods[0].Script", f"function '{name}' is not a script event, so it never runs; did you mean '{event}'?")]


def test_helpers_next_to_the_events_are_fine():
    parse_connector({**paged([]), "Script": "function tidy(r) { return r; }\nfunction after_action() { tidy(1); }\n"
                                            "function after_action_paging() {}\nconst format_date = (d) => d;"})


def test_field_paths_that_can_never_match_are_refused():
    fields = [{"ConnectorField": "[records].id", "SystemField": "Id"},
              {"ConnectorField": "records.name", "SystemField": "Name"},
              {"ConnectorField": "[].total", "SystemField": "Total"}]
    assert problems(paged([], fields)) == [
        ("$.Methods[0].ResponseFormat.Fields[1].ConnectorField",
         ("'records.name' reads 'records' as an object, but '[records].id' "
         "($.Methods[0].ResponseFormat.Fields[0].ConnectorField) reads it as an array: both cannot match")),
        ("$.Methods[0].ResponseFormat.Fields[2].ConnectorField",
         ("'[].total' reads the body as an array, but '[records].id' "
         "($.Methods[0].ResponseFormat.Fields[0].ConnectorField) reads it as an object: both cannot match"))]


def test_a_cursor_read_from_the_response_must_be_one_value_where_the_fields_agree():
    cursor = [{**CURSOR, "Values": ["PAGE_TOKEN"]}, {**NEXT, "TargetName": "[meta].next", "Values": ["PAGE_TOKEN"]}]
    fields = [{"ConnectorField": "[items].id", "SystemField": "Id"}, {"ConnectorField": "meta.count", "SystemField": "N"}]
    found = problems(paged(cursor, fields))
    assert ("$.Methods[0].Parameters[1].TargetName",
            "'[meta].next' passes through an array, but paging reads one value from each response") in found
    assert ("$.Methods[0].Parameters[1].TargetName",
            ("'[meta].next' reads 'meta' as an array, but 'meta.count' "
            "($.Methods[0].ResponseFormat.Fields[1].ConnectorField) reads it as an object: both cannot match")) in found


def test_request_paths_and_lookup_keys_are_held_to_one_shape_too():
    request = {"RequestFormat": {"Fields": [{"ConnectorField": "[lines].sku", "SystemField": "Sku"},
                                            {"ConnectorField": "lines.note", "SystemField": "Note"}]}}
    assert [p for p, _ in problems(paged([], **request))] == ["$.Methods[0].RequestFormat.Fields[1].ConnectorField"]
    lookup = {**paged([]), "Triggers": [{"Name": "Items", "Method": "list", "IdentifierKey": "[].id",
                                         "HumanReadableKey": "name"}]}
    assert [p for p, _ in problems(lookup)] == ["$.Triggers[0].HumanReadableKey"]
