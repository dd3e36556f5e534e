"""The connector JSON Schema, for editors: `python -m connectors.schema` writes the catalog copy."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.spec import Connector


def connector_json_schema() -> dict:
    schema = Connector.model_json_schema(by_alias=True)
    schema["title"] = "Cyclewright connector"
    return schema


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "catalog" / "connector.schema.json"
    target.write_text(json.dumps(connector_json_schema(), indent=2) + "\n")
    print(f"wrote {target}")
