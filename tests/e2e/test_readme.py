"""Acceptance: the README's walkthrough, run exactly as written (its shell block) against the
test stack and a fresh demo API; and, with a wrong secret, it stops at once with the server's
message (issue 15)."""

from __future__ import annotations

import os
import re
import subprocess

import httpx

from tests.conftest import ROOT


def walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The walkthrough"):]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def run_walkthrough(api_url: str, demo_url: str, client_secret: str) -> subprocess.CompletedProcess:
    """The block in bash, with only what it sets itself (set -euo pipefail)."""
    env = {**os.environ, "API": api_url, "DEMO": demo_url, "CLIENT_ID": "test-client", "CLIENT_SECRET": client_secret}
    return subprocess.run(["bash", "-c", walkthrough_script()], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # the timeout only guards a hung test


def test_the_readme_walkthrough_runs_as_written(api_url, demo):
    done = run_walkthrough(api_url, demo.url, "test-secret")
    assert done.returncode == 0, done.stdout + done.stderr
    cycle, account = re.search(r"cycle (\S+) of account (\S+)", done.stdout).groups()
    stats = httpx.get(f"{demo.url}/admin/stats").json()
    contacts = httpx.get(f"{demo.url}/crm/contacts", params={"per_page": 1000},
                         headers={"X-Api-Key": "demo-crm-key"}).json()["records"]
    active = [c for c in contacts if c["status"] == "active"]
    assert 0 < len(active) < len(contacts)
    assert stats["distinct_emails"] == stats["leads_created"] == len(active)  # each active contact once
    assert '"Key":"skipped","Value":' + str(len(contacts) - len(active)) in done.stdout.replace(" ", "")
    assert '"Reason":"MissingMapping"' in done.stdout  # step 7 showed what blocked activation
    assert f'"Id":"{cycle}"' in done.stdout and account
    assert "the cycle is Stopped" in done.stdout


def test_the_readme_walkthrough_stops_at_a_refusal_with_the_servers_message(api_url, demo):
    refusal = httpx.post(f"{api_url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "wrong-secret"})
    assert refusal.status_code == 401  # the premise: the server refuses the secret, saying why
    accounts_before = len(_accounts(api_url))

    done = run_walkthrough(api_url, demo.url, "wrong-secret")

    assert done.returncode != 0
    assert refusal.json()["Message"] in done.stderr, done.stderr
    assert "401" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""  # step 1 was the last: nothing later ran, no loop
    assert len(_accounts(api_url)) == accounts_before


def _accounts(api_url: str) -> list:
    token = httpx.post(f"{api_url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret"})
    return httpx.get(f"{api_url}/v1.0/accounts",
                     headers={"Authorization": f"Bearer {token.json()['access_token']}"}).json()
