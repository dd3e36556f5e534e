"""The clients of bench/api_load.py, for locust (headless, one connection per user, no pause).

Each user, again and again: reads a cycle, the account's cycles, a cycle's runs or its account
connectors; writes a cycle variable of its own (a new name each time); posts a webhook event;
sends a variable name that is invalid (bad input: 422 expected); or asks for a token. It
records every answer's status, time and whether it has a Retry-After header, and what was acknowledged (the variables written,
the events accepted), and writes it all to CYCLEWRIGHT_LOAD_OUT as JSON when the run ends.

The accounts, cycles and the token come from CYCLEWRIGHT_LOAD_SETUP (a JSON file).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from pathlib import Path

from locust import FastHttpUser, events, task

SETUP = json.loads(Path(os.environ["CYCLEWRIGHT_LOAD_SETUP"]).read_text())
CLIENT_TIMEOUT = 60.0  # seconds: far past the 10 s the API must answer in, so a slow answer is seen, not cut
RESULTS: dict = {"answers": [], "variables": [], "events": []}
_counter = itertools.count()


class ApiClient(FastHttpUser):
    network_timeout = CLIENT_TIMEOUT
    connection_timeout = CLIENT_TIMEOUT
    max_retries = 0  # a refused or dropped connection is an answer of its own ("error")

    def on_start(self) -> None:
        self.target = random.choice(SETUP["accounts"])
        self.headers = {"Authorization": f"Bearer {SETUP['token']}", "X-Account-Id": self.target["account"]}

    def _send(self, kind: str, method: str, path: str, **options) -> int:
        started = time.perf_counter()
        with self.client.request(method, path, name=kind, catch_response=True, **options) as response:
            # A refused or broken connection is status 0; a request cut short because the run
            # ended (GreenletExit) is not recorded.
            status = response.status_code or 0
            retry_after = "retry-after" in (response.headers or {})
            response.success()  # counted here, by status, not by locust's failure rules
        RESULTS["answers"].append((kind, status, started, time.perf_counter() - started, retry_after))
        return status

    @task(20)
    def read_cycle(self) -> None:
        self._send("read", "GET", f"/v1.0/cycles/{self.target['cycle']}", headers=self.headers)

    @task(10)
    def list_cycles(self) -> None:
        self._send("read", "GET", "/v1.0/cycles", headers=self.headers)

    @task(10)
    def list_runs(self) -> None:
        self._send("read", "GET", f"/v1.0/cycles/{self.target['cycle']}/runs", headers=self.headers)

    @task(5)
    def list_account_connectors(self) -> None:
        self._send("read", "GET", "/v1.0/account/connectors", headers=self.headers)

    @task(25)
    def write_variable(self) -> None:
        name, value = f"v{next(_counter)}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        status = self._send("write", "PUT", f"/v1.0/cycles/{self.target['cycle']}/variables/{name}",
                            headers=self.headers, json={"Value": value})
        if status == 200:
            RESULTS["variables"].append((self.target["account"], self.target["cycle"], name, value))

    @task(25)
    def post_event(self) -> None:
        email = f"load-{uuid.uuid4().hex}@example.com"
        status = self._send("webhook", "POST", self.target["webhook"], json={"email": email})
        if status == 202:
            RESULTS["events"].append(email)

    @task(3)
    def bad_variable_name(self) -> None:
        self._send("bad input", "PUT", f"/v1.0/cycles/{self.target['cycle']}/variables/1-not-a-name",
                   headers=self.headers, json={"Value": "x"})

    @task(2)
    def token(self) -> None:
        self._send("token", "POST", "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": SETUP["client_id"],
            "client_secret": SETUP["client_secret"]})


@events.quitting.add_listener
def _write_results(environment, **_) -> None:
    Path(os.environ["CYCLEWRIGHT_LOAD_OUT"]).write_text(json.dumps(RESULTS))
