"""A step's field mappings evaluated for one transaction."""

from __future__ import annotations

from typing import Any

from connectors import Connector
from store.plans import StepPlan


def mapped(step: StepPlan, connector: Connector, records: dict[str, dict[str, Any]]) -> tuple[dict, dict]:
    """Request fields, and method parameters, from the transaction's earlier records."""
    values: dict[str, Any] = {}
    for m in step.mappings:
        if m.mapping_type == "StaticValue":
            values[m.field] = m.value
        elif m.mapping_type == "StepField":
            values[m.field] = records.get(m.source_step or "", {}).get(m.source_field or "")
    request = {f.SystemField for f in connector.method(step.method).request_fields}
    return ({k: v for k, v in values.items() if k in request},
            {k: str(v) for k, v in values.items() if k not in request and v is not None})
