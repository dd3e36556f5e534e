"""Acceptance: a page that fails to read in the middle of the trigger step is read again from
where the pages before it were written (they are written while the next pages are read):
every record once, and no page read twice but the one that failed."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx

from tests.templating import contacts_trigger, demo_requests, install_template, run_once

PAGE = 500  # the demo CRM connector's PageSizeInbound
PAGES = 6


async def test_a_page_failing_mid_trigger_is_read_again_after_the_pages_written(api, demo):
    template = {"Name": "Read every contact, a page failing once", "Steps": [contacts_trigger(None)]}
    cycle = await install_template(api, demo.url, template, contacts=PAGES * PAGE)
    async with httpx.AsyncClient() as client:
        fault = {"path": "/crm/contacts", "status": 503, "after": 3}  # the fourth page, once
        (await client.post(f"{demo.url}/admin/faults", json=fault)).raise_for_status()
    run = await run_once(cycle)
    assert (run["Status"], run["Transactions"]) == ("Succeeded", {"Success": PAGES * PAGE, "Errored": 0, "Stopped": 0})
    pages = [int(parse_qs(r["query"])["page"][0]) for r in await demo_requests(cycle, "/crm/contacts")]
    assert pages == [1, 2, 3, 4, 4, 5, 6, 7]  # the failure happened; the retry began at the page that failed
