"""The names of workflows, activities and messages agree everywhere: workflows/names.py, what the
worker registers (worker.build_worker), what the workflows call, and what the recorded
histories hold. A typo in one would otherwise show only as an activity that never completes."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import temporalio.activity
import temporalio.workflow

from tests.replay.recorded import FIXTURES, history
from worker import WORKFLOWS, build_worker
from workflows import names

WORKFLOWS_FOLDER = Path(names.__file__).parent
CALLS = {"execute_activity", "start_activity", "execute_local_activity", "start_local_activity",
         "execute_child_workflow", "start_child_workflow", "signal"}


def registered(worker) -> tuple[dict[str, temporalio.workflow._Definition], set[str]]:
    """The workflows (by name) and activity names a worker registers, read as the SDK reads them."""
    config = worker.config()
    workflows = [temporalio.workflow._Definition.must_from_class(w) for w in config["workflows"]]
    activities = {temporalio.activity._Definition.must_from_callable(a).name for a in config["activities"]}
    return {w.name: w for w in workflows}, activities


async def test_the_worker_registers_every_name_and_no_other(temporal):
    async with httpx.AsyncClient() as http:
        workflows, activities = registered(build_worker(temporal.client, http))
    assert sorted(workflows) == sorted(names.WORKFLOWS)
    assert sorted(activities) == sorted(names.ACTIVITIES)
    assert names.PAUSE_FOR in workflows[names.CYCLE_WORKFLOW].signals


def _called(tree: ast.AST) -> list[tuple[int, ast.expr]]:
    """What every Temporal call (activities, child workflows, signals) names as its callee: its
    first argument, or each branch of it when that is `a if … else b`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS and node.args:
            callees = [node.args[0]]
            while any(isinstance(c, ast.IfExp) for c in callees):
                callees = [b for c in callees for b in ((c.body, c.orelse) if isinstance(c, ast.IfExp) else (c,))]
            found += [(node.lineno, callee) for callee in callees]
    return found


def test_the_workflows_call_activities_and_signals_by_their_registered_names():
    used: set[str] = set()
    for path in sorted(WORKFLOWS_FOLDER.glob("*.py")):
        for line, callee in _called(ast.parse(path.read_text())):
            where = f"{path.name}:{line}"
            assert not isinstance(callee, ast.Constant), f"{where} calls {callee.value!r} by a bare string: use names"
            if isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name) and callee.value.id == "names":
                assert hasattr(names, callee.attr), f"{where}: names.{callee.attr} does not exist"
                used.add(getattr(names, callee.attr))
    assert set(names.ACTIVITIES) <= used, f"registered, never called: {set(names.ACTIVITIES) - used}"
    assert names.PAUSE_FOR in used


def test_every_name_in_the_recorded_histories_is_registered():
    """What old histories hold must stay registered, or they cannot replay: activity and child
    workflow types, and the signals and Updates each workflow received."""
    workflows = {w.name: w for w in map(temporalio.workflow._Definition.must_from_class, WORKFLOWS)}
    signals = {signal for w in workflows.values() for signal in w.signals}
    for path in FIXTURES:
        events = history(path).events
        kind = events[0].workflow_execution_started_event_attributes.workflow_type.name
        assert kind in workflows, f"{path.name}: workflow {kind}"
        for event in events:
            if event.HasField("activity_task_scheduled_event_attributes"):
                activity = event.activity_task_scheduled_event_attributes.activity_type.name
                assert activity in names.ACTIVITIES, f"{path.name}: activity {activity}"
            if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
                child = event.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
                assert child in workflows, f"{path.name}: child workflow {child}"
            if event.HasField("workflow_execution_signaled_event_attributes"):
                signal = event.workflow_execution_signaled_event_attributes.signal_name
                assert signal in workflows[kind].signals, f"{path.name}: signal {signal}"
            if event.HasField("workflow_execution_update_accepted_event_attributes"):
                update = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
                assert update in workflows[kind].updates, f"{path.name}: Update {update}"
            if event.HasField("signal_external_workflow_execution_initiated_event_attributes"):
                sent = event.signal_external_workflow_execution_initiated_event_attributes.signal_name
                assert sent in signals, f"{path.name}: signal sent {sent}"
