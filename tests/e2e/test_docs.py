"""Acceptance (issue 7, point 8): /docs and /redoc render with no network: every asset the
pages reference is served by the API itself."""

from __future__ import annotations

import re

import httpx

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


async def test_docs_pages_load_everything_from_the_api(api_url):
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        for page in ("/docs", "/redoc"):
            response = await anonymous.get(page)
            assert response.status_code == 200 and "text/html" in response.headers["content-type"]
            references = [a or b for a, b in REFERENCE.findall(response.text)]
            assert any(r.endswith(".js") for r in references), references  # the page has its script
            for reference in references:
                assert reference.startswith("/"), f"{page} loads {reference} from elsewhere"
                asset = await anonymous.get(reference)
                assert asset.status_code == 200 and asset.content, reference

        openapi = (await anonymous.get("/openapi.json")).json()
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["OAuth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert schemes["Bearer"]["scheme"] == "bearer"
    operation = openapi["paths"]["/v1.0/accounts"]["get"]
    assert operation["security"] and "parameters" not in operation  # no Authorization header parameter
    assert operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
