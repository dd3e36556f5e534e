"""How the template check grows with the template: its time per doubling of the steps, up to the limit.

    .venv/bin/python bench/graph.py [--smallest 125] [--repeats 5]

Each template is what `POST /v1.0/templates` checks before saving: parsed, then its step graph
(ids, exits, loops, reach from the trigger) and every mapping (the field it fills, the earlier
step it reads) against the demo connectors, in a SQLite database of its own. Its steps are a
CRM trigger, then Decisions whose two exits join again at a lead step (so every step has
several ways to it), each lead step mapping fields from the trigger and from the lead before
it, and a Storage step now and then. Prints the least CPU time of `--repeats` checks at each
size (the sizes taking turns), and the ratio to the size before: about 2 per doubling is
linear growth. (Before it was linear, this template took, wall time: 32 steps 0.39 s, 64 0.67 s,
128 2.3 s, 256 7.1 s, 512 32 s.)
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlmodel import Session

from runtime.catalog import CATALOG
from store import connectors, templates
from store.database import make_engine
from store.template_spec import MAX_STEPS


def template(size: int) -> dict[str, Any]:
    """`size` steps: the trigger, then (Decision, lead, …) with a Storage step every tenth."""
    steps: list[dict[str, Any]] = [{"Id": "s0", "Connector": "Demo CRM", "Method": "list-contacts", "Next": "s1"}]
    last_lead = None
    for i in range(1, size):
        step_id, following = f"s{i}", f"s{i + 1}" if i + 1 < size else None
        if i % 10 == 0:
            step: dict[str, Any] = {"Id": step_id, "Type": "Storage", "Operation": "Increment", "Key": f"k{i}"}
        elif i % 2 == 1 and following:
            step = {"Id": step_id, "Type": "Decision", "TrueNext": following, "FalseNext": following, "Condition": {
                "Left": {"MappingType": "StepField", "SourceStep": "s0", "SourceField": "Status"},
                "Operator": "Matches", "Right": {"MappingType": "StaticValue", "Value": "^act"}}}
        else:
            step = {"Id": step_id, "Connector": "Demo Leads", "Method": "create-lead", "FieldMappings": [
                {"Field": "Email", "MappingType": "StepField", "SourceStep": last_lead or "s0",
                 "SourceField": "Email"},
                {"Field": "Name", "MappingType": "Expression", "Expression": "{{s0.FirstName}} {{s0.LastName}}"},
                {"Field": "Source", "MappingType": "StaticValue", "Value": "bench"}]}
            last_lead = step_id
        if following and step.get("Type") != "Decision":
            step["Next"] = following
        steps.append(step)
    return {"Name": f"{size} steps", "Steps": steps}


def checked(db: Session, document: dict[str, Any]) -> None:
    problems = templates.check(db, templates.parse_template(document))
    assert not problems, problems[:3]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smallest", type=int, default=MAX_STEPS // 8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [args.smallest * 2**i for i in range(8) if args.smallest * 2**i <= MAX_STEPS]
    with tempfile.TemporaryDirectory() as folder, Session(make_engine(f"sqlite:///{Path(folder) / 'b.db'}")) as db:
        for name in ("demo-crm.json", "demo-leads.json"):
            connectors.upload(db, json.loads((CATALOG / "connectors" / name).read_text()))
        checked(db, template(sizes[0]))  # connectors read and parsed once, as in a running API
        documents = {size: template(size) for size in sizes}
        seconds: dict[int, list[float]] = {size: [] for size in sizes}
        for _ in range(args.repeats):  # the sizes take turns, so that a busy moment hits each alike
            for size, document in documents.items():
                gc.collect()
                started = time.process_time()
                checked(db, document)
                seconds[size].append(time.process_time() - started)
        print(f"template check (parse, graph, mappings): CPU time, best of {args.repeats}; "
              f"the limit is {MAX_STEPS:,} steps")
        previous = None
        for size in sizes:
            best = min(seconds[size])
            ratio = f"  ×{best / previous:.2f} for twice the steps" if previous else ""
            print(f"{size:6,d} steps  {best * 1000:9.1f} ms{ratio}")
            previous = best

if __name__ == "__main__":
    main()
