// Connect every connector the cycle's steps use: a form generated from the connector's authentication
// definition (API key, token, Basic, OAuth2 through a popup, properties), checked by the API on the way in.
import { useCallback, useEffect, useState } from "react";
import type { ConnectorAuthentication, Cycle } from "../../api";
import { usePortal } from "../../context";
import { useT } from "../../strings";
import { Alert, Badge, ErrorAlert, Spinner } from "../../ui";
import { ConnectorForm } from "./ConnectorForm";
import { neededConnectors, type Needed } from "./needed";

export function ConnectStep({ cycle, force, onDone }: { cycle: Cycle; force: boolean; onDone: () => void }) {
  const { api } = usePortal();
  const t = useT();
  const [needed, setNeeded] = useState<Needed[] | null>(null);
  const [definitions, setDefinitions] = useState<Map<string, ConnectorAuthentication>>(new Map());
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    const [installed, unmet] = await Promise.all([api.accountConnectors(), api.prerequisites(cycle.Id)]);
    const found = neededConnectors(cycle, installed, unmet);
    const loaded = await Promise.all(found.map((n) => api.authentication(n.connectorId)));
    setDefinitions(new Map(loaded.map((d) => [d.ConnectorId, d])));
    setNeeded(found);
    return found;
  }, [api, cycle]);

  useEffect(() => {
    load().then((found) => {
      if (!force && found.every((n) => n.ready)) onDone(); // nothing to ask
    }, setError);
  }, []); // once, on entering the step

  if (error) return <ErrorAlert error={error} />;
  if (!needed) return <Spinner label={t("app.loading")} />;
  const allReady = needed.every((n) => n.ready);
  const toggle = (id: string) => setOpen((was) => new Set(was.has(id) ? [...was].filter((x) => x !== id) : [...was, id]));

  return (
    <div className="panel">
      <p className="lead">{t("connect.intro")}</p>
      <ul className="connectors">
        {needed.map((n) => (
          <li key={n.connectorId} className="connector" aria-labelledby={`connector-${n.connectorId}`}>
            <div className="connector-head">
              <h2 id={`connector-${n.connectorId}`} className="connector-name">{definitions.get(n.connectorId)?.Name}</h2>
              {n.ready ? (
                <Badge tone="success">{n.installed?.Status === "CredentialsSet" ? t("connect.credentialsSet") : t("connect.connected")}</Badge>
              ) : (
                <Badge tone="neutral">{t("connect.needed")}</Badge>
              )}
              {n.ready && (
                <button type="button" className="button button-ghost" aria-expanded={open.has(n.connectorId) || force}
                  onClick={() => toggle(n.connectorId)}>
                  {t("connect.reconnect")}
                </button>
              )}
            </div>
            {(!n.ready || open.has(n.connectorId) || force) && (
              <ConnectorForm
                definition={definitions.get(n.connectorId)!}
                installed={n.installed}
                onConnected={() => {
                  setOpen(new Set());
                  load().catch(setError);
                }}
              />
            )}
          </li>
        ))}
      </ul>
      {allReady && <Alert kind="success">{t("connect.allDone")}</Alert>}
      <div className="actions">
        <button type="button" className="button button-primary" disabled={!allReady} onClick={onDone}>
          {force ? t("app.done") : t("common.continue")}
        </button>
      </div>
    </div>
  );
}
