"""`make run` with PAYLOAD_ENCRYPTION_KEY: the dev server's Web UI is told to decode through the
API's /codec, which lets the UI's origin call it from the browser."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import httpx

from runtime.launcher import ROOT, wait_until
from tests.conftest import DATA_DIR, free_port

# The launcher's start and stop, in a process of its own (it sets the environment it starts).
LAUNCH = """
import sys
from pathlib import Path
from runtime.launcher import Stack, start_stack
from runtime.ports import Ports
stack = Stack()
try:
    start_stack(stack, Ports(*map(int, sys.argv[2:]), metrics=None))
    Path(sys.argv[1]).touch()  # started (the processes it starts share its stdout)
    sys.stdin.read()  # until the test closes it
finally:
    stack.stop()
"""


def test_make_run_wires_the_web_ui_to_the_codec_endpoint():
    api_port, demo_port, temporal_port, ui_port = (free_port() for _ in range(4))
    started = DATA_DIR / "launcher.started"
    inherited = {name: value for name, value in os.environ.items() if name != "CYCLEWRIGHT_PUBLIC_URL"}
    env = {**inherited, "CYCLEWRIGHT_DATA_DIR": str(DATA_DIR / "launcher"),  # the public URL: the launcher's
           "PAYLOAD_ENCRYPTION_KEY": f"k1:{base64.b64encode(os.urandom(32)).decode()}"}
    with open(DATA_DIR / "launcher.log", "ab") as log:
        ports = [str(port) for port in (api_port, demo_port, temporal_port, ui_port)]
        launcher = subprocess.Popen([sys.executable, "-c", LAUNCH, str(started), *ports], cwd=ROOT, env=env,
                                    stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: launcher.poll() is not None or started.exists(), "the launcher")
        assert started.exists(), f"the launcher failed: see {DATA_DIR / 'launcher.log'}"
        ui = httpx.get(f"http://127.0.0.1:{ui_port}/api/v1/settings").json()
        assert ui["Codec"]["Endpoint"] == f"http://127.0.0.1:{api_port}/codec"
        origin = f"http://127.0.0.1:{ui_port}"
        preflight = httpx.options(f"http://127.0.0.1:{api_port}/codec/decode", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
    finally:
        launcher.stdin.close()
        assert launcher.wait(timeout=60) == 0
