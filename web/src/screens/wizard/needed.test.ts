import { describe, expect, it } from "vitest";
import type { AccountConnector, Cycle, CycleStep, Prerequisite } from "../../api";
import { neededConnectors } from "./needed";

const step = (id: string, connectorId: string | null, bound: string | null = null): CycleStep => ({
  Id: id, TemplateStepId: id, Name: id, Type: "Method", AccountConnectorId: bound, ConnectorId: connectorId,
});
const cycle = (...steps: CycleStep[]): Cycle => ({
  Id: "c", Name: "c", Status: "Paused", StatusReason: null, TemplateId: "t", StartTime: null, Interval: null,
  RunOnce: false, Steps: steps,
});
const installed = (id: string, connectorId: string, status: AccountConnector["Status"] = "Verified"): AccountConnector => ({
  Id: id, ConnectorId: connectorId, Name: id, AuthenticationId: null, Authenticated: status === "Verified", Status: status,
  StatusReason: null, Properties: [],
});
const unmet = (stepId: string, reason: string): Prerequisite => ({ StepId: stepId, Reason: reason, Message: reason });

describe("neededConnectors", () => {
  it("lists each connector the steps call once, in step order", () => {
    const found = neededConnectors(cycle(step("a", "crm"), step("b", "leads"), step("c", "crm"), step("d", null)), [], []);
    expect(found.map((n) => [n.connectorId, n.ready])).toEqual([["crm", false], ["leads", false]]);
  });

  it("is ready when the account has it connected and no step of it is blocked", () => {
    const found = neededConnectors(cycle(step("a", "crm")), [installed("ac1", "crm")], []);
    expect(found[0]).toMatchObject({ ready: true, installed: { Id: "ac1" } });
  });

  it("asks again when the installation needs authentication or a prerequisite names its step", () => {
    expect(neededConnectors(cycle(step("a", "crm")), [installed("ac1", "crm", "NeedsAuthentication")], [])[0].ready).toBe(false);
    expect(neededConnectors(cycle(step("a", "crm")), [installed("ac1", "crm")], [unmet("a", "MissingProperty")])[0].ready).toBe(false);
    expect(neededConnectors(cycle(step("a", "crm")), [installed("ac1", "crm")], [unmet("a", "MissingMapping")])[0].ready).toBe(true);
  });

  it("prefers the installation the step is bound to", () => {
    const found = neededConnectors(cycle(step("a", "crm", "ac2")), [installed("ac1", "crm"), installed("ac2", "crm")], []);
    expect(found[0].installed?.Id).toBe("ac2");
  });
});
