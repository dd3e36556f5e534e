"""Overhead of the MCP server (/mcp): a read tool call over the same data-on-demand call, and a
write tool call over the same write sent straight to the demo API.

    .venv/bin/python bench/mcp.py [--calls 200] [--records 25]

All sequential, taking turns, in one process run. The MCP calls are JSON-RPC `tools/call`
requests as any client sends them (stateless streamable HTTP, JSON answers), with an account
token. Reads: `demo_crm_list_contacts` vs `POST /v1.0/account/connectors/{id}/methods/list-contacts`
(one page of --records each). Writes: `demo_leads_create_lead` with a new `_key` each (a
Temporal workflow each: a tool call) vs `POST /leads/contacts` to the demo API with a new
Idempotency-Key, and vs the same tool call through the REST API (`POST /v1.0/account/tool-calls`:
what the workflow costs, apart from MCP). Prints p50 and p99 of each, and the p50 and p99 overhead and ratio.
"""

from __future__ import annotations

import argparse
import itertools
import os

import httpx
from ondemand import percentile, timed
from stack import CRM_PAGE_SIZE, reset_demo, running_stack

from runtime.catalog import install_demo
from runtime.settings import settings

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--records", type=int, default=25)
    args = parser.parse_args()
    if not 0 < args.records < CRM_PAGE_SIZE:
        parser.error(f"--records must be under the connector's page size ({CRM_PAGE_SIZE}): one page each way")
    os.environ["CYCLEWRIGHT_MCP_CALLS_PER_MINUTE"] = "1000000"  # the per-account limit is not what is measured
    with running_stack() as (api, demo):
        reset_demo(demo, args.records)
        account, _ = install_demo(api, demo, account_name="mcp")
        headers = {"X-Account-Id": account}
        connectors = {c["Name"]: c["Id"] for c in api.get("/connectors").json()}
        for name, method in (("Demo CRM", "list-contacts"), ("Demo Leads", "create-lead")):
            api.put(f"/connectors/{connectors[name]}/agent-tools",
                    json={"Methods": [{"Method": method}]}).raise_for_status()
        installed = {a["ConnectorId"]: a["Id"] for a in api.get("/account/connectors", headers=headers).json()}
        crm, leads = installed[connectors["Demo CRM"]], installed[connectors["Demo Leads"]]
        base = str(api.base_url).removesuffix("/v1.0/").removesuffix("/v1.0")
        config = settings()
        token = httpx.post(f"{base}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": config.client_id, "client_secret": config.client_secret,
            "scope": f"account:{account}"}).raise_for_status().json()["access_token"]
        ids, keys = itertools.count(1), itertools.count(1)

        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}", **MCP_HEADERS},
                          timeout=60) as agent, httpx.Client(base_url=demo, timeout=60) as direct:
            def tool(name: str, arguments: dict) -> dict:
                response = agent.post("/mcp", json={"jsonrpc": "2.0", "id": next(ids), "method": "tools/call",
                                                    "params": {"name": name, "arguments": arguments}})
                result = response.raise_for_status().json()["result"]
                assert not result.get("isError"), result
                return result["structuredContent"]

            def read_tool() -> None:
                assert len(tool("demo_crm_list_contacts", {})["Records"]) == args.records

            def on_demand() -> None:
                response = api.post(f"/account/connectors/{crm}/methods/list-contacts", headers=headers,
                                    json={"OnePage": True})
                assert len(response.raise_for_status().json()["Records"]) == args.records

            def write_tool() -> None:
                n = next(keys)
                call = tool("demo_leads_create_lead", {"Email": f"w{n}@example.com", "Source": "bench",
                                                       "_key": f"bench-{n}"})
                assert call["Status"] == "Completed", call

            def direct_write() -> None:
                n = next(keys)
                direct.post("/leads/contacts", json={"email": f"d{n}@example.com", "source": "bench"},
                            headers={"Authorization": "Bearer demo-leads-token",
                                     "Idempotency-Key": f"direct-{n}"}).raise_for_status()

            def rest_write() -> None:  # the same tool call through the REST API: the workflow's own cost
                n = next(keys)
                call = api.post("/account/tool-calls", headers=headers, json={
                    "Connector": leads, "Method": "create-lead", "Key": f"rest-{n}", "Tool": "bench",
                    "Arguments": {"Fields": {"Email": f"r{n}@example.com", "Source": "bench"}}})
                assert call.raise_for_status().json()["Status"] == "Completed", call.text

            reads = timed({"on demand": on_demand, "read tool": read_tool}, args.calls)
            writes = timed({"direct write": direct_write, "REST tool call": rest_write, "write tool": write_tool},
                           args.calls)
    print(f"\n{args.calls} sequential calls of each; reads of {args.records} records")
    for samples, base_name, tool_name in ((reads, "on demand", "read tool"), (writes, "direct write", "write tool"),
                                          (writes, "REST tool call", "write tool")):
        for name in (base_name, tool_name):
            print(f"  {name:14}  p50 {percentile(samples[name], 50):7.2f} ms   p99 {percentile(samples[name], 99):7.2f} ms")
        for p in (50, 99):
            over, under = percentile(samples[tool_name], p), percentile(samples[base_name], p)
            print(f"  {tool_name} over {base_name}, p{p}: {over - under:+.2f} ms  (ratio {over / under:.2f})")


if __name__ == "__main__":
    main()
