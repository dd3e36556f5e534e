import type { AccountConnector, Cycle, Prerequisite } from "../../api";

const CONNECTOR_REASONS = new Set(["ConnectorNotInstalled", "NotAuthenticated", "MissingProperty"]);

export interface Needed {
  connectorId: string;
  installed: AccountConnector | undefined;
  ready: boolean;
}

/** The connectors a cycle calls, each with the account's installation and whether it is ready. */
export function neededConnectors(cycle: Cycle, installed: AccountConnector[], unmet: Prerequisite[]): Needed[] {
  const blocked = new Set(unmet.filter((p) => CONNECTOR_REASONS.has(p.Reason)).map((p) => p.StepId));
  const found = new Map<string, Needed>();
  for (const step of cycle.Steps) {
    if (!step.ConnectorId) continue;
    const mine = installed.find((a) => a.Id === step.AccountConnectorId) ?? installed.find((a) => a.ConnectorId === step.ConnectorId);
    const entry = found.get(step.ConnectorId) ?? {
      connectorId: step.ConnectorId,
      installed: mine,
      ready: mine !== undefined && mine.Status !== "NeedsAuthentication",
    };
    if (blocked.has(step.Id)) entry.ready = false;
    found.set(step.ConnectorId, entry);
  }
  return [...found.values()];
}
