"""catalog/connector.schema.json is generated from the models (`cyclewright connector schema`):
editors that validate against it must accept every valid connector."""

from __future__ import annotations

import copy
import json

from connectors.schema import CATALOG_COPY, connector_json_schema, missing_properties


def test_the_catalog_schema_is_the_models_schema():
    written = json.loads(CATALOG_COPY.read_text())
    assert missing_properties(written, connector_json_schema()) == [], "run: .venv/bin/cyclewright connector schema"
    assert written == connector_json_schema(), "run: .venv/bin/cyclewright connector schema"


def test_a_schema_lacking_a_field_the_models_have_is_stale():
    stale = copy.deepcopy(connector_json_schema())
    del stale["properties"]["AuthTestMethod"]
    del stale["$defs"]["Method"]["properties"]["PagedOutboundLocation"]
    assert missing_properties(stale, connector_json_schema()) == ["Connector.AuthTestMethod",
                                                                  "Method.PagedOutboundLocation"]
