"""Acceptance (issue 18, point 1): a page on another origin embeds the portal with sdk.js; the user
installs the DESIGN §3 template (a wrong API key first, the upstream's message shown, then the
right one), picks a lookup's value from a dropdown and activates; the demo API receives the
records. The manage view shows the run and an errored transaction, retries it to success,
pauses, resumes and removes the integration. Each screen's screenshot is kept."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from demo.app import CRM_KEY, LEADS_TOKEN
from tests.portal.conftest import events, new_account, open_session, portal_frame, wait_for_event

REJECTED = "the leads service rejected this lead: its e-mail domain is blocked"


async def test_install_configure_activate_and_manage_in_an_embedded_portal(
        api, demo, catalog, embedder, browser, screenshots):
    async with httpx.AsyncClient(base_url=demo.url) as admin:
        (await admin.post("/admin/reset", json={"contacts": 3})).raise_for_status()
        # The first lead the run sends is refused (once): an errored transaction to retry.
        (await admin.post("/admin/faults", json={"status": 422, "path": "/leads/contacts", "count": 1,
                                                 "message": REJECTED})).raise_for_status()
    account = await new_account(api)
    embedder.session = await open_session(api, account, Templates=[catalog.template_id],
                                          AllowedOrigins=[embedder.origin])
    page = await browser.new_page()
    await page.goto(embedder.origin)
    portal = await portal_frame(page)
    await wait_for_event(page, "ready")

    # Marketplace: the session's template, not installed yet.
    card = portal.get_by_role("listitem").filter(has=portal.get_by_role("heading", name="CRM contacts to leads"))
    await expect(card).to_contain_text("Every contact of the demo CRM becomes a lead")
    await page.screenshot(path=screenshots / "1-marketplace.png", full_page=True)
    search = portal.get_by_label("Search integrations")
    await search.fill("invoices")
    await expect(portal.get_by_text("No integration matches your search.")).to_be_visible()
    await search.fill("demo leads")  # the connectors it uses count
    await portal.get_by_label("Category").select_option("Sales")
    await expect(card).to_be_visible()
    await card.get_by_role("button", name="Install").click()

    # Connect: a wrong API key is refused with the upstream's own words; then the right one.
    await expect(portal.get_by_role("heading", name="Set up CRM contacts to leads")).to_be_visible()
    crm = portal.get_by_role("form", name="Demo CRM")
    await crm.get_by_label("API key").fill("not-the-key")
    await crm.get_by_label("BaseUrl").fill(demo.url)
    await crm.get_by_role("button", name="Connect Demo CRM").click()
    await expect(crm.get_by_role("alert").first).to_be_visible()
    await expect(crm).to_contain_text("bad credentials")  # what the demo CRM answered
    await page.screenshot(path=screenshots / "2-connect-wrong-key.png", full_page=True)
    await crm.get_by_label("API key").fill(CRM_KEY)
    await crm.get_by_role("button", name="Connect Demo CRM").click()
    leads = portal.get_by_role("form", name="Demo Leads")
    await leads.get_by_label("Access token").fill(LEADS_TOKEN)
    await leads.get_by_label("BaseUrl").fill(demo.url)
    await leads.get_by_role("button", name="Connect Demo Leads").click()
    await expect(portal.get_by_text("Every service is connected.")).to_be_visible()
    await page.screenshot(path=screenshots / "3-connected.png", full_page=True)
    await portal.get_by_role("button", name="Continue").click()

    # Configure: the lead source from the leads service's own lookup, as a dropdown.
    source = portal.get_by_label("Source")
    await expect(source.locator("option", has_text="Trade fair")).to_be_attached()
    await source.select_option(label="Trade fair")
    # Custom fields, found by the custom-fields lookup: a choice, and a number the API checks.
    await portal.get_by_label("Favourite colour").select_option("green")
    budget = portal.get_by_label("Budget")
    await budget.fill("12.5")
    await portal.get_by_role("button", name="Continue").click()
    await expect(budget).to_have_attribute("aria-invalid", "true")
    await expect(portal.get_by_role("alert").filter(has_text="'12.5' is not one")).to_be_visible()  # the API's words
    await page.screenshot(path=screenshots / "4-configure-invalid.png", full_page=True)
    await budget.fill("1200")
    await page.screenshot(path=screenshots / "4-configure.png", full_page=True)
    await portal.get_by_role("button", name="Continue").click()

    # Activate, on the first schedule offered (a run now, then on the interval).
    await expect(portal.get_by_role("group", name="Schedule")).to_be_visible()
    await page.screenshot(path=screenshots / "5-activate.png", full_page=True)
    await portal.get_by_role("button", name="Activate").click()

    # Manage: the run and its counts, the errored record with the upstream's message.
    await expect(portal.get_by_role("heading", name="CRM contacts to leads")).to_be_visible()
    runs = portal.get_by_role("table")
    await expect(runs).to_contain_text("2 succeeded, 1 failed", timeout=60_000)
    await expect(portal.get_by_text(REJECTED)).to_be_visible()
    await page.screenshot(path=screenshots / "6-manage-errored.png", full_page=True)
    async with httpx.AsyncClient(base_url=demo.url) as admin:
        leads_made = (await admin.get("/admin/leads")).json()
    assert len(leads_made) == 2 and {lead["source"] for lead in leads_made} == {"src-fair"}, leads_made

    await portal.get_by_role("button", name="Retry").click()
    await expect(portal.get_by_text("No record has failed.")).to_be_visible(timeout=60_000)
    async with httpx.AsyncClient(base_url=demo.url) as admin:
        leads_made = (await admin.get("/admin/leads")).json()
    assert len(leads_made) == 3, leads_made  # the demo API received every record
    await page.screenshot(path=screenshots / "7-manage-retried.png", full_page=True)

    # The marketplace marks it installed; My integrations lists it with its status.
    await portal.get_by_role("button", name="Marketplace").click()
    await expect(card).to_contain_text("Installed")
    await page.screenshot(path=screenshots / "7-marketplace-installed.png", full_page=True)
    await card.get_by_role("button", name="Manage").click()
    await portal.get_by_role("button", name="All integrations").click()
    listed = portal.get_by_role("listitem").filter(has=portal.get_by_role("heading", name="CRM contacts to leads"))
    await expect(listed).to_contain_text("Active")
    await page.screenshot(path=screenshots / "7-my-integrations.png", full_page=True)
    await listed.get_by_role("button", name="Details").click()

    # Reconfigure: what was chosen is shown, and a new choice is saved.
    actions = portal.get_by_role("group", name="Actions")
    await actions.get_by_role("button", name="Reconfigure").click()
    source = portal.get_by_label("Source")
    await expect(source).to_have_value("src-fair")
    await source.select_option(label="Referral")
    await portal.get_by_role("button", name="Save").click()
    await expect(actions).to_be_visible()
    cycle = (await api.get("/v1.0/cycles", headers={"X-Account-Id": account})).json()[0]
    lead_step = next(s["Id"] for s in cycle["Steps"] if s["TemplateStepId"] == "lead")
    mappings = (await api.get(f"/v1.0/steps/{lead_step}/fieldmappings", headers={"X-Account-Id": account})).json()
    assert {m["Field"]: m.get("Value") for m in mappings}["Source"] == "src-referral", mappings

    # Reconnect: every connector's form, though both are connected; new credentials are checked too.
    await actions.get_by_role("button", name="Reconnect accounts").click()
    crm = portal.get_by_role("form", name="Demo CRM")
    await crm.get_by_label("API key").fill("stolen-key")
    await crm.get_by_role("button", name="Connect Demo CRM").click()
    await expect(crm).to_contain_text("bad credentials")
    await page.screenshot(path=screenshots / "7-reconnect.png", full_page=True)
    await portal.get_by_role("button", name="Done").click()
    await expect(actions).to_be_visible()

    # Pause, resume, remove.
    await actions.get_by_role("button", name="Pause").click()
    await expect(portal.locator(".detail-head")).to_contain_text("Paused")
    await actions.get_by_role("button", name="Resume").click()
    await expect(portal.locator(".detail-head")).to_contain_text("Active")
    await actions.get_by_role("button", name="Remove").click()
    dialog = portal.get_by_role("dialog", name=re.compile("Remove CRM contacts to leads"))
    await page.screenshot(path=screenshots / "8-remove.png", full_page=True)
    await dialog.get_by_role("button", name="Remove").click()
    await expect(portal.get_by_text("You have not installed any integration yet.")).to_be_visible()
    await page.screenshot(path=screenshots / "9-manage-empty.png", full_page=True)
    cycles = await api.get("/v1.0/cycles", headers={"X-Account-Id": account})
    assert cycles.json() == []

    kinds = [e["type"] for e in await events(page)]
    assert {"ready", "authenticated", "installed", "activated"} <= set(kinds), kinds
