"""CollectionSplit All on records read from a body (connectors.paths.split_nested)."""

from __future__ import annotations

import pytest

from connectors.errors import StepError
from connectors.paths import MAX_SPLIT, records_from_body, split_nested
from connectors.spec import FieldSpec

FIELDS = [FieldSpec(ConnectorField=c, SystemField=s) for c, s in (
    ("[orders].id", "Id"), ("[orders].[lines].sku", "Sku"), ("[orders].[lines].qty", "Qty"),
    ("[orders].[tags].name", "Tag"))]


def split(*orders: dict) -> list[dict]:
    return split_nested(records_from_body({"orders": list(orders)}, FIELDS), FIELDS)


def test_each_line_is_a_record_with_its_orders_fields():
    assert split({"id": "o1", "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]}) == [
        {"Id": "o1", "Sku": "A", "Qty": 1, "Tag": None}, {"Id": "o1", "Sku": "B", "Qty": 2, "Tag": None}]


def test_two_collections_split_into_their_product():
    records = split({"id": "o1", "lines": [{"sku": "A"}, {"sku": "B"}], "tags": [{"name": "x"}, {"name": "y"}]})
    assert [(r["Sku"], r["Tag"]) for r in records] == [("A", "x"), ("A", "y"), ("B", "x"), ("B", "y")]


def test_a_record_with_an_empty_collection_stays_once_with_empty_fields():
    assert split({"id": "o1", "lines": []}) == [{"Id": "o1", "Sku": None, "Qty": None, "Tag": None}]


def test_records_without_nested_collections_are_left_as_they_are():
    flat = [FieldSpec(ConnectorField="[orders].id", SystemField="Id")]
    records = records_from_body({"orders": [{"id": "o1"}, {"id": "o2"}]}, flat)
    assert split_nested(records, flat) == records


def test_a_split_beyond_the_bound_is_refused():
    lines = [{"sku": str(i)} for i in range(200)]
    tags = [{"name": str(i)} for i in range(MAX_SPLIT // 200 + 1)]
    with pytest.raises(StepError, match=f"more than {MAX_SPLIT} transactions"):
        split({"id": "o1", "lines": lines, "tags": tags})
