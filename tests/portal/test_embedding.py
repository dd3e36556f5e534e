"""Acceptance (issue 18, point 3): the embedding page receives the SDK's events; a message from
another origin is ignored; the portal refuses to render inside an origin the session does not allow."""

from __future__ import annotations

from playwright.async_api import expect

from tests.portal.conftest import events, new_account, open_session, portal_frame, wait_for_event

NOT_US = "https://app.partner.example"


async def test_the_embedding_page_gets_the_portals_events_and_ignores_forged_ones(
        api, catalog, embedder, third_origin, browser):
    embedder.forger = third_origin  # a frame of a third origin that posts portal-looking events
    embedder.session = await open_session(api, await new_account(api), Templates=[catalog.template_id],
                                          AllowedOrigins=[embedder.origin])
    page = await browser.new_page()
    await page.goto(embedder.origin)
    portal = await portal_frame(page)
    await wait_for_event(page, "ready")
    forger = page.frame(url=third_origin)
    assert forger is not None
    await forger.wait_for_function("() => window.forged === true")  # its messages were posted
    await portal.get_by_role("heading", name="Marketplace").wait_for()

    await portal.get_by_role("button", name="Close").click()  # the portal asks; the SDK closes it
    await wait_for_event(page, "closed")
    await expect(page.locator("#portal iframe")).to_have_count(0)
    received = await events(page)
    assert [e["type"] for e in received] == ["ready", "closed"], received
    assert not any(e.get("forged") for e in received)


async def test_the_portal_refuses_to_render_in_an_origin_its_session_does_not_allow(api, catalog, embedder, browser):
    embedder.session = await open_session(api, await new_account(api), Templates=[catalog.template_id],
                                          AllowedOrigins=[NOT_US])
    page = await browser.new_page()
    async with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
        await page.goto(embedder.origin)
    assert "frame-ancestors 'none'" in (await refused.value).text  # the browser enforced the session's origins
    portal = await portal_frame(page)
    assert await portal.locator("#root").count() == 0  # nothing of the portal was rendered
    assert await events(page) == []


async def test_the_portal_speaks_its_sessions_locale_and_wears_its_theme(api, catalog, embedder, browser):
    embedder.session = await open_session(api, await new_account(api), Templates=[catalog.template_id],
                                          AllowedOrigins=[embedder.origin], Locale="fr-CA",
                                          Theme={"Variables": {"--cw-accent": "#0a7f3f", "--cw-radius": "2px"}})
    page = await browser.new_page()
    await page.goto(embedder.origin)
    portal = await portal_frame(page)
    await expect(portal.get_by_role("heading", name="Catalogue")).to_be_visible()  # fr-CA → fr
    install = portal.get_by_role("button", name="Installer")
    style = await install.evaluate("(e) => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderRadius]")
    assert style == ["rgb(10, 127, 63)", "2px"]
