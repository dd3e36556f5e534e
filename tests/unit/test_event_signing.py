"""The events' signatures as the README tells a partner to check them, in Python and in Node:
what connectors/signing.py signs passes; another secret, another body or an old timestamp fails."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import subprocess
import time

import pytest

from connectors.signing import signature
from tests.conftest import ROOT

SECRET, BODY = "whsec-test-secret-123", json.dumps({"Id": "e1", "Type": "run.failed", "Data": {"Ü": 1}}).encode()


def readme_block(language: str) -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Events to your backend"):]
    return re.search(rf"```{language}\n(.*?)```", section, re.DOTALL).group(1)


def cases() -> list[tuple[str, str, bytes, bool]]:
    now = int(time.time())
    header = signature(SECRET, now, BODY)
    return [(SECRET, header, BODY, True), (SECRET + "x", header, BODY, False),
            (SECRET, header, BODY + b" ", False), (SECRET, signature(SECRET, now - 3600, BODY), BODY, False)]


def test_the_readme_python_verifies_what_is_signed():
    scope = {"hashlib": hashlib, "hmac": hmac, "time": time}
    exec(readme_block("python"), scope)  # noqa: S102 - the README's own code, run as a partner would
    assert [scope["verify"](secret, header, body) for secret, header, body, _ in cases()] == [
        ok for *_, ok in cases()]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_readme_node_verifies_what_is_signed():
    checks = [{"secret": s, "header": h, "body": b.decode(), "ok": ok} for s, h, b, ok in cases()]
    script = ("const crypto = require('crypto');\n" + readme_block("js") +
              f"\nconst cases = {json.dumps(checks)};\n"
              "console.log(JSON.stringify(cases.map((c) => verify(c.secret, c.header, Buffer.from(c.body)))));")
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == [c["ok"] for c in checks]
