"""Acceptance: the README's walkthrough, run exactly as written (its shell block) against the
test stack and a fresh demo API."""

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


def test_the_readme_walkthrough_runs_as_written(api_url, demo):
    env = {**os.environ, "API": api_url, "DEMO": demo.url, "CLIENT_ID": "test-client", "CLIENT_SECRET": "test-secret"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough_script()],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
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
