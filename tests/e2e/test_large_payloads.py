"""Record batches over Temporal's payload limit go to external storage, not into history."""

from __future__ import annotations

from runtime.settings import settings
from tests.walkthrough import install_demo_cycle


async def test_a_trigger_page_larger_than_the_payload_limit_runs(api, demo):
    # 1,500 contacts of 2 KB each: a 3 MB page, over the 2 MB a Temporal payload may hold.
    cycle = await install_demo_cycle(api, demo.url, contacts=1500, note_bytes=2000)
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 1500, "Errored": 0}
    assert any(settings().payload_dir.rglob("*")), "the large page was not stored externally"
