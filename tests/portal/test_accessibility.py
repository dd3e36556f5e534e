"""Acceptance (issue 18, point 4): axe-core finds no serious or critical violation on any portal
screen, and the install wizard can be completed with the keyboard alone."""

from __future__ import annotations

import httpx
from playwright.async_api import Frame, Locator, Page, expect

from demo.app import CRM_KEY, LEADS_TOKEN
from tests.portal.conftest import (
    axe_violations,
    have_axe,
    new_account,
    open_session,
    portal_frame,
    wait_for_event,
)

MAX_TABS = 60


async def tab_to(page: Page, target: Locator) -> None:
    """Tab (only) until `target` has the focus: what a keyboard user does."""
    for _ in range(MAX_TABS):
        if await target.evaluate("(e) => e === document.activeElement && document.hasFocus()"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {target}")


async def no_serious_violations(frame: Frame, screen: str, found: dict[str, list]) -> None:
    found[screen] = await axe_violations(frame)


async def test_every_screen_passes_axe_and_the_wizard_needs_only_a_keyboard(api, demo, catalog, embedder, browser):
    have_axe()
    async with httpx.AsyncClient(base_url=demo.url) as admin:
        (await admin.post("/admin/reset", json={"contacts": 2})).raise_for_status()
    embedder.session = await open_session(api, await new_account(api), Templates=[catalog.template_id],
                                          AllowedOrigins=[embedder.origin], Locale="en-GB")
    page = await browser.new_page()
    await page.goto(embedder.origin)
    portal = await portal_frame(page)
    await wait_for_event(page, "ready")
    violations: dict[str, list] = {}
    keys = page.keyboard

    await portal.get_by_role("heading", name="Marketplace").wait_for()
    await no_serious_violations(portal, "marketplace", violations)
    await tab_to(page, portal.get_by_role("button", name="Install"))
    await keys.press("Enter")

    crm = portal.get_by_role("form", name="Demo CRM")
    await crm.get_by_label("API key").wait_for()
    await no_serious_violations(portal, "connect", violations)
    await tab_to(page, crm.get_by_label("API key"))
    await keys.type(CRM_KEY)
    await tab_to(page, crm.get_by_label("BaseUrl"))
    await keys.type(demo.url)
    await keys.press("Enter")  # submits the form
    await expect(crm).to_have_count(0)  # connected: its form is put away
    leads = portal.get_by_role("form", name="Demo Leads")
    await tab_to(page, leads.get_by_label("Access token"))
    await keys.type(LEADS_TOKEN)
    await tab_to(page, leads.get_by_label("BaseUrl"))
    await keys.type(demo.url)
    await keys.press("Enter")
    await expect(portal.get_by_text("Every service is connected.")).to_be_visible()
    await no_serious_violations(portal, "connected", violations)
    await tab_to(page, portal.get_by_role("button", name="Continue"))
    await keys.press("Enter")

    source = portal.get_by_label("Source")
    await expect(source.locator("option", has_text="Referral")).to_be_attached()
    await no_serious_violations(portal, "configure", violations)
    await tab_to(page, source)
    await keys.type("Referral")  # a select's type-ahead
    await expect(source).to_have_value("src-referral")
    colour = portal.get_by_label("Favourite colour")
    await tab_to(page, colour)
    await keys.type("blue")
    await expect(colour).to_have_value("blue")
    await tab_to(page, portal.get_by_role("button", name="Continue"))
    await keys.press("Enter")

    await portal.get_by_role("group", name="Schedule").wait_for()
    await no_serious_violations(portal, "activate", violations)
    await tab_to(page, portal.get_by_role("button", name="Activate"))
    await keys.press("Enter")
    await wait_for_event(page, "activated")

    await expect(portal.get_by_role("table")).to_contain_text("2 succeeded, 0 failed", timeout=60_000)
    await no_serious_violations(portal, "manage an integration", violations)
    await tab_to(page, portal.get_by_role("button", name="Remove"))
    await keys.press("Enter")
    await portal.get_by_role("dialog").wait_for()
    await no_serious_violations(portal, "remove dialog", violations)
    await keys.press("Escape")
    await tab_to(page, portal.get_by_role("button", name="All integrations"))
    await keys.press("Enter")
    await portal.get_by_role("heading", name="My integrations").wait_for()
    await no_serious_violations(portal, "my integrations", violations)

    assert all(found == [] for found in violations.values()), violations
    assert len(violations) == 8
