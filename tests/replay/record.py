"""Records the replay fixtures: `python -m tests.replay.record [--release NAME] [-k SCENARIO]`.

Runs the scenarios of tests/replay/scenarios.py against the real stack (a few minutes) and
writes the histories they made to tests/replay/histories/<release>/, the release being the
package's version unless named. tests/replay/test_replay.py replays every fixture there against
the workflows of the checkout. When to record, and what to keep: docs/changing-workflows.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from runtime.codec import SETTING as PAYLOAD_KEY_SETTING

SCENARIOS = Path(__file__).with_name("scenarios.py")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.replay.record", description=__doc__.split("\n\n")[1])
    parser.add_argument("--release", default=version("cyclewright"),
                        help="the folder under tests/replay/histories (default: the package's version)")
    parser.add_argument("-k", dest="scenarios", help="only the scenarios this pytest -k expression selects")
    args = parser.parse_args()
    os.environ["CYCLEWRIGHT_REPLAY_RELEASE"] = args.release
    os.environ.pop(PAYLOAD_KEY_SETTING, None)  # recorded in the clear: the tests replay them without a key
    selected = ["-k", args.scenarios] if args.scenarios else []
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", str(SCENARIOS), *selected]))


if __name__ == "__main__":
    main()
