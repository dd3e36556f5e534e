"""Acceptance (issue 15, point 12): every recorded history replays against the workflows of this
checkout, and a workflow whose commands changed without `workflow.patched` does not.

The histories were recorded from real runs (`python -m tests.replay.record`); a cycle lives
for months, so the worker that replays them may be one deployed long after they began.
"""

from __future__ import annotations

import pytest
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from runtime.context import ContextInterceptor
from tests.replay.changed import CHANGED
from tests.replay.recorded import FIXTURES, HISTORIES, fixture_id, history, workflow_type
from worker import RUNNER, WORKFLOWS
from workflows import names


def replayer(*workflows: type) -> Replayer:
    """What the worker runs (or `workflows` instead), with its interceptors as when it traces
    (runtime/telemetry.py); the fixtures were recorded without a payload key."""
    return Replayer(workflows=workflows or WORKFLOWS, data_converter=pydantic_data_converter,
                    interceptors=[TracingInterceptor(), ContextInterceptor()], workflow_runner=RUNNER)


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
async def test_a_recorded_history_replays(path):
    result = await replayer().replay_workflow(history(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.relative_to(HISTORIES)}: {result.replay_failure}"


def test_the_fixtures_hold_every_workflow_and_a_continue_as_new():
    started = [history(p).events[0].workflow_execution_started_event_attributes for p in FIXTURES]
    assert {s.workflow_type.name for s in started} == set(names.WORKFLOWS)
    assert any(s.continued_execution_run_id for s in started)  # a history that began as a continue-as-new
    last = [history(p).events[-1] for p in FIXTURES]
    assert any(e.HasField("workflow_execution_continued_as_new_event_attributes") for e in last)


@pytest.mark.parametrize("path", [p for p in FIXTURES if workflow_type(p) in CHANGED],
                         ids=fixture_id)
async def test_a_changed_workflow_replays_only_behind_a_patch(path):
    recorded = history(path)
    changed, patched = CHANGED[workflow_type(path)]
    assert (await replayer().replay_workflow(recorded, raise_on_replay_failure=False)).replay_failure is None

    bare = await replayer(changed).replay_workflow(recorded, raise_on_replay_failure=False)
    assert isinstance(bare.replay_failure, NondeterminismError), bare.replay_failure

    guarded = await replayer(patched).replay_workflow(recorded, raise_on_replay_failure=False)
    assert guarded.replay_failure is None, guarded.replay_failure
