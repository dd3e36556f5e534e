"""The portal's browser tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright, against
the real stack of tests/conftest.py, the portal embedded by a page served from another origin.

Never `playwright install`: the browser is the system's (.ci/run installs it with apt-get)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Frame, Page, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.conftest import ThreadedServer
from tests.walkthrough import catalog_document

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme CRM: integrations</title>
<script src="{api}/portal/sdk.js"></script></head>
<body><h1>Acme CRM settings</h1>
<script type="application/json" id="portal-session">{session}</script>
<div id="portal"></div>
<script src="/embed.js"></script>
</body></html>"""

# The partner's page: opens the portal inline with the SDK and keeps every event it forwards.
EMBED_SCRIPT = """
window.portalEvents = [];
const opened = JSON.parse(document.getElementById("portal-session").textContent);
document.getElementById("portal").style.height = "900px";
window.portal = Cyclewright.open({url: opened.Url, token: opened.Token, mode: "inline", container: "#portal",
                                  onEvent: (event) => window.portalEvents.push(event)});
"""

# A page of a third origin, framed by the partner's page, that forges the portal's events.
FORGER_PAGE = """<!doctype html><html lang="en"><head><title>forger</title></head><body><script>
for (const type of ["ready", "activated", "closed"])
  window.parent.postMessage({source: "cyclewright-portal", type, detail: {forged: true}}, "*");
window.forged = true;
</script></body></html>"""


@dataclass
class Embedder:
    """The partner's web app on its own origin: it serves a page embedding the session it is given."""

    api_url: str
    server: ThreadedServer | None = None
    session: dict = field(default_factory=dict)
    forger: str | None = None  # a third origin's page to frame, which forges events

    @property
    def origin(self) -> str:
        return self.server.url

    def app(self) -> Starlette:
        async def page(_: Request) -> HTMLResponse:
            body = EMBED_PAGE.format(api=self.api_url, session=json.dumps(self.session).replace("<", "\\u003c"))
            if self.forger:
                body = body.replace("</body>", f'<iframe title="forger" src="{self.forger}"></iframe></body>')
            return HTMLResponse(body)

        async def script(_: Request) -> HTMLResponse:
            return HTMLResponse(EMBED_SCRIPT, media_type="text/javascript")

        async def forged(_: Request) -> HTMLResponse:
            return HTMLResponse(FORGER_PAGE)

        return Starlette(routes=[Route("/", page), Route("/embed.js", script), Route("/forger", forged)])


@pytest.fixture
def embedder(api_url) -> Iterator[Embedder]:
    holder = Embedder(api_url)
    with ThreadedServer(holder.app()) as server:
        holder.server = server
        yield holder


@pytest.fixture
def third_origin(embedder) -> Iterator[str]:
    """Another origin again (its own port), serving the forger's page."""
    with ThreadedServer(embedder.app()) as server:
        yield f"{server.url}/forger"


@pytest.fixture(autouse=True)
def chromium_present() -> None:
    """Checked first (autouse), before a stack starts for nothing."""
    if not CHROMIUM.exists():
        pytest.skip("the portal's browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture
async def browser(tmp_path) -> AsyncIterator[BrowserContext]:
    """Chromium with a fresh profile for the test."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1100, "height": 1000})
        context.set_default_timeout(30_000)
        yield context
        await context.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    print(f"\nportal screenshots: {folder}")
    return folder


@dataclass
class Catalog:
    template_id: str
    connector_ids: dict[str, str]


@pytest.fixture
async def catalog(api: httpx.AsyncClient) -> Catalog:
    """The demo connectors and the DESIGN §3 example template (catalog/templates/crm-contacts-to-leads.json)."""
    ids = {}
    for name in ("demo-crm.json", "demo-leads.json"):
        response = await api.post("/v1.0/connectors", json=catalog_document("connectors", name))
        assert response.status_code == 201, response.text
        ids[response.json()["Name"]] = response.json()["Id"]
    response = await api.post("/v1.0/templates", json=catalog_document("templates", "crm-contacts-to-leads.json"))
    assert response.status_code == 201, response.text
    return Catalog(response.json()["Id"], ids)


async def new_account(api: httpx.AsyncClient, name: str = "Acme") -> str:
    response = await api.post("/v1.0/accounts", json={"Name": name})
    assert response.status_code == 201, response.text
    return response.json()["Id"]


async def open_session(api: httpx.AsyncClient, account_id: str, **options: object) -> dict:
    response = await api.post(f"/v1.0/accounts/{account_id}/portal-sessions", json=options)
    assert response.status_code == 201, response.text
    return response.json()


async def portal_frame(page: Page) -> Frame:
    handle = await page.wait_for_selector("#portal iframe")
    frame = await handle.content_frame()
    assert frame is not None
    return frame


async def events(page: Page) -> list[dict]:
    return await page.evaluate("window.portalEvents")


async def wait_for_event(page: Page, kind: str) -> None:
    await page.wait_for_function("(kind) => window.portalEvents.some((e) => e.type === kind)", arg=kind)


async def axe_violations(frame: Frame) -> list[dict]:
    """axe-core's serious and critical violations on the frame's page (evaluated through the
    DevTools protocol: the portal's CSP allows no injected script)."""
    if not await frame.evaluate("() => typeof window.axe !== 'undefined'"):
        await frame.evaluate(AXE.read_text() + "\n;0")
    result = await frame.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert result["passes"], "axe-core checked nothing"  # it ran, on a page with content
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def have_axe() -> None:
    if not AXE.exists() or shutil.which("node") is None:
        pytest.fail("axe-core is missing: `make test` installs node_modules (npm ci)")
