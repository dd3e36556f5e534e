"""Acceptance (issue 7, point 4): bodies, strings and time zones are bounded, with errors that
name the limit or the field."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import api_process, free_port, partner_client
from tests.walkthrough import catalog_document

FIFTY_MB = 50 * 1024 * 1024
CHUNK = 1024 * 1024


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


async def _post_huge(port: int, token: str, path: str, chunked: bool) -> tuple[int, str]:
    """POST 50 MB to `path` until the API answers; returns the status and body it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {FIFTY_MB}"
    writer.write((f"POST {path} HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: application/json\r\n{framing}\r\n\r\n").encode())
    answer = asyncio.ensure_future(_response(reader))
    try:
        for _ in range(FIFTY_MB // CHUNK):
            if answer.done():
                break
            chunk = b"[" + b" " * (CHUNK - 2) + b"]"
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            await writer.drain()
    except ConnectionError:
        pass  # the API stopped reading: its answer is already on the way
    status, body = await answer
    writer.close()
    return status, body


async def _response(reader: asyncio.StreamReader) -> tuple[int, str]:
    """The status and body of an HTTP/1.1 response with a Content-Length."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = next(int(line.split(":")[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:"))
    return int(head.split()[1]), (await reader.readexactly(length)).decode()


async def test_a_50_mb_body_is_refused_without_being_read():
    port = free_port()
    process = api_process(port, log="limits-api.log")
    try:
        async with partner_client(f"http://127.0.0.1:{port}") as api:
            token = api.headers["Authorization"].removeprefix("Bearer ")
            before = peak_rss_kib(process.popen.pid)
            for path, limit in (("/v1.0/accounts", "256 KiB"), ("/v1.0/connectors", "5 MiB")):
                for chunked in (False, True):
                    status, body = await _post_huge(port, token, path, chunked)
                    assert status == 413 and limit in body, (path, chunked, body)
            grown = peak_rss_kib(process.popen.pid) - before
            assert grown < 16 * 1024, f"the API's peak memory grew by {grown} KiB"
            # A connector document of a few MB is still accepted.
            document = catalog_document("connectors", "demo-crm.json")
            document["Description"] = "x" * 3 * 1024 * 1024
            document["Name"] = "Large CRM"
            assert (await api.post("/v1.0/connectors", json=document)).status_code == 201
    finally:
        process.stop()


async def test_names_and_time_zones_are_checked(api):
    cases = [
        ({"Name": "Acme\x00Corp"}, "$.Name", "control characters"),
        ({"Name": "A" * 10_000}, "$.Name", "200 characters"),
        ({"Name": ""}, "$.Name", "at least 1 character"),
        ({"Name": "Acme", "Timezone": "Mars/Olympus"}, "$.Timezone", "IANA time zone"),
        ({"Name": "Acme", "Timezone": "../../etc/passwd"}, "$.Timezone", "IANA time zone"),
    ]
    before = (await api.get("/v1.0/accounts")).json()
    for body, path, words in cases:
        response = await api.post("/v1.0/accounts", json=body)
        assert response.status_code == 422, response.text
        errors = response.json()["Errors"]
        assert [e["Path"] for e in errors] == [path] and words in errors[0]["Message"], errors
    assert (await api.get("/v1.0/accounts")).json() == before  # nothing was saved
    account = (await api.post("/v1.0/accounts", json={"Name": "Acme", "Timezone": "America/New_York"})).json()
    response = await api.put(f"/v1.0/accounts/{account['Id']}", json={"Name": "tab\there"})
    assert response.status_code == 422 and response.json()["Errors"][0]["Path"] == "$.Name"

    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Steps"][0]["Name"] = "x" * 201
    response = await api.post("/v1.0/templates", json=template)
    assert response.status_code == 422 and response.json()["Errors"][0]["Path"] == "$.Steps[0].Name", response.text
