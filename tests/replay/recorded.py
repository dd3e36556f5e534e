"""The recorded histories: tests/replay/histories/<release>/<scenario>-<role>.json, each a
history as Temporal writes it (an event a line), named by its file."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

HISTORIES = Path(__file__).parent / "histories"
FIXTURES = sorted(HISTORIES.glob("*/*.json"))


def history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"{path.parent.name}/{path.stem}", path.read_text())


def workflow_type(path: Path) -> str:
    return history(path).events[0].workflow_execution_started_event_attributes.workflow_type.name


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"
