"""Acceptance (issue 9, point 4): the Petstore example and a larger real spec import, through the
CLI and the API (in the background: issue 17), as connectors that validate, with a report of
what was skipped; a method imported from the Petstore calls the demo API's Petstore. And Cyclr
files upload, listing what Cyclewright ignores."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from cli import app as cli
from tests.unit.test_cyclr_files import CYCLR_FILE
from tests.walkthrough import import_openapi

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
PETSTORE = FIXTURES / "petstore.yaml"


def cyclewright(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_cli_imports_the_petstore_and_its_methods_call_the_demo(demo, tmp_path):
    out = tmp_path / "petstore.json"
    report = cyclewright("connector", "import-openapi", str(PETSTORE), "--out", str(out),
                         "--base-url", f"{demo.url}/petstore")
    assert f"wrote {out}" in report and "3 method(s)" in report
    assert "2 item(s) not converted" in report and "response header 'x-next'" in report
    assert "declares no security scheme" in report
    assert "valid" in cyclewright("connector", "validate", str(out))

    listed = cyclewright("connector", "call", str(out), "listPets", "--param", "limit=2")
    assert f"GET {demo.url}/petstore/pets?limit=2" in listed and "2 record(s)" in listed
    assert '"Name": "Rex"' in listed and '"Name": "Nemo"' not in listed
    cyclewright("connector", "call", str(out), "createPets", "--field", "Id=7", "--field", "Name=Kit")
    shown = cyclewright("connector", "call", str(out), "showPetById", "--param", "petId=7")
    assert f"GET {demo.url}/petstore/pets/7" in shown and '"Name": "Kit"' in shown


def test_the_cli_refuses_a_document_that_is_not_openapi(tmp_path):
    path = tmp_path / "not-openapi.yaml"
    path.write_text("name: a connector, perhaps\n")
    result = CliRunner().invoke(cli, ["connector", "import-openapi", str(path)])
    assert result.exit_code == 1 and "not an OpenAPI 3.x or Swagger 2.0 document" in result.output


async def test_the_api_imports_a_draft_in_the_background_whose_methods_call_the_demo(api, demo, tmp_path):
    job = await import_openapi(api, PETSTORE.read_bytes(), "application/yaml", baseUrl=f"{demo.url}/petstore")
    assert (job["Status"], job["Operations"], job["Converted"]) == ("Succeeded", 3, 3)
    assert job["Skipped"][-1] == {"Path": "#/paths/~1pets/get/responses/200/headers/x-next",
                                  "Message": "response header 'x-next' is not converted (fields are read from the body)"}
    stored = (await api.get(f"/v1.0/connectors/{job['ConnectorId']}")).json()
    assert (stored["Name"], stored["ReleaseStatus"], stored["ReleaseId"]) == ("Swagger Petstore", "Draft", job["ReleaseId"])

    path = tmp_path / "imported.json"
    path.write_text(json.dumps(stored["Document"]))
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["connector", "call", str(path), "showPetById",
                                                              "--param", "petId=2"])
    assert result.exit_code == 0 and '"Name": "Tom"' in result.output, result.output


async def test_the_api_imports_a_larger_real_spec_and_reports_what_it_skipped(api):
    job = await import_openapi(api, (FIXTURES / "netlify-swagger.json").read_bytes())
    assert job["Status"] == "Succeeded"
    stored = (await api.get(f"/v1.0/connectors/{job['ConnectorId']}")).json()
    assert stored["ReleaseStatus"] == "Draft" and len(stored["Document"]["Methods"]) == 181
    skipped = {item["Path"]: item["Message"] for item in job["Skipped"]}
    assert "implicit flow is not supported" in skipped["#/securityDefinitions/netlifyAuth"]


async def test_an_import_of_a_document_that_is_not_openapi_fails_saving_nothing(api):
    before = (await api.get("/v1.0/connectors")).json()
    for body, kind in (('{"Name": "a connector"}', "application/json"), ("- a\n- list\n", "application/yaml"),
                       ("{broken", "application/json")):
        job = await import_openapi(api, body, kind)
        assert job["Status"] == "Failed" and job["ConnectorId"] is None
        assert job["Message"] == "The document is not an OpenAPI 3.x or Swagger 2.0 document; nothing was saved."
        assert [error["Path"] for error in job["Errors"]] == ["$"]
    assert (await api.get("/v1.0/connectors")).json() == before
    for query, content in (({"baseUrl": "not a url"}, PETSTORE.read_bytes()), ({}, b"  ")):
        response = await api.post("/v1.0/connectors/import/openapi", params=query, content=content,
                                  headers={"Content-Type": "application/yaml"})
        assert response.status_code == 422, response.text  # refused at once: nothing started
    assert response.json()["Errors"] == [{"Path": "$", "Message": "an OpenAPI document is required"}]


async def test_uploading_a_cyclr_file_lists_what_it_ignores(api):
    response = await api.post("/v1.0/connectors", json={**CYCLR_FILE, "Name": "Cyclr CRM (e2e)"})
    assert response.status_code == 201, response.text
    ignored = {item["Path"]: item["Message"] for item in response.json()["Ignored"]}
    assert ignored["$.Icon"] == "ignored (a Cyclr property Cyclewright does not use)"
    assert len(ignored) == 12

    typo = json.loads(json.dumps(CYCLR_FILE))
    typo["Methods"][0]["Endpiont"] = typo["Methods"][0].pop("Endpoint")
    response = await api.post("/v1.0/connectors", json=typo)
    assert response.status_code == 422
    assert {"Path": "$.Methods[0].Endpiont", "Message": "unknown property; did you mean 'Endpoint'?"} \
        in response.json()["Errors"]
