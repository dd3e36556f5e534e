// The account's integrations: status and reason, recent runs with counts, errored records with Retry,
// Pause/Resume, Reconfigure, Reconnect, Remove (deactivate, then delete).
import { useCallback, useEffect, useRef, useState } from "react";
import type { AccountConnector, Cycle, Run, Transaction } from "../api";
import { usePortal } from "../context";
import { useT, type Key } from "../strings";
import { Alert, Badge, ErrorAlert, Heading, Spinner } from "../ui";
import { dateTime, useInterval } from "./format";
import { needsSetup } from "./status";

const REFRESH_MS = 3000; // while the screen is open, what the integration does shows up by itself

function StatusBadge({ cycle }: { cycle: Cycle }) {
  const t = useT();
  if (needsSetup(cycle)) return <Badge tone="neutral">{t("status.setup")}</Badge>;
  const tone = cycle.Status === "Active" ? "success" : cycle.Status === "Errored" ? "danger" : "neutral";
  return <Badge tone={tone}>{t(`status.${cycle.Status}` as Key)}</Badge>;
}

export function Manage({ cycleId }: { cycleId?: string }) {
  return cycleId ? <Detail cycleId={cycleId} /> : <List />;
}

function List() {
  const { api, go } = usePortal();
  const t = useT();
  const interval = useInterval();
  const [cycles, setCycles] = useState<Cycle[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api.cycles().then(setCycles, setError);
  }, [api]);

  return (
    <section>
      <Heading>{t("manage.heading")}</Heading>
      <ErrorAlert error={error} />
      {!cycles && !error && <Spinner label={t("app.loading")} />}
      {cycles?.length === 0 && (
        <div className="empty">
          <p>{t("manage.empty")}</p>
          <button type="button" className="button button-primary" onClick={() => go({ screen: "marketplace" })}>
            {t("manage.browse")}
          </button>
        </div>
      )}
      {cycles && cycles.length > 0 && (
        <ul className="rows">
          {cycles.map((cycle) => (
            <li key={cycle.Id} className="row">
              <div className="row-main">
                <h2 className="row-title" id={`cycle-${cycle.Id}`}>{cycle.Name}</h2>
                <p className="muted small">
                  {cycle.RunOnce ? t("manage.schedule.once") : cycle.Interval ? t("manage.schedule.every", { interval: interval(cycle.Interval) }) : ""}
                </p>
                {cycle.StatusReason && <p className="reason">{t("detail.reason", { reason: cycle.StatusReason })}</p>}
              </div>
              <StatusBadge cycle={cycle} />
              <button type="button" className="button" aria-describedby={`cycle-${cycle.Id}`}
                onClick={() => go(needsSetup(cycle) ? { screen: "wizard", cycleId: cycle.Id } : { screen: "manage", cycleId: cycle.Id })}>
                {needsSetup(cycle) ? t("market.continue") : t("manage.open")}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Detail({ cycleId }: { cycleId: string }) {
  const { api, go, session } = usePortal();
  const t = useT();
  const interval = useInterval();
  const [cycle, setCycle] = useState<Cycle | null>(null);
  const [runs, setRuns] = useState<Run[]>([]);
  const [errored, setErrored] = useState<Transaction[]>([]);
  const [connectors, setConnectors] = useState<AccountConnector[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);

  const load = useCallback(async () => {
    const [found, history, failed, installed] = await Promise.all([
      api.cycle(cycleId), api.runs(cycleId), api.errored(cycleId), api.accountConnectors(),
    ]);
    setCycle(found);
    setRuns(history.slice(-10).reverse());
    setErrored(failed);
    setConnectors(installed);
  }, [api, cycleId]);

  useEffect(() => {
    load().catch(setError);
    const timer = window.setInterval(() => load().catch(() => undefined), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  useEffect(() => {
    if (confirming) dialog.current?.showModal();
    else dialog.current?.close();
  }, [confirming]);

  const act = async (name: string, action: () => Promise<unknown>, done?: string) => {
    setBusy(name);
    setError(null);
    setNotice(null);
    try {
      await action();
      if (done) setNotice(done);
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const remove = async () => {
    if (!cycle) return;
    setBusy("remove");
    try {
      if (cycle.Status === "Active" || cycle.Status === "Paused" || cycle.Status === "Stopping") await api.deactivate(cycle.Id);
      await api.remove(cycle.Id);
      setConfirming(false);
      go({ screen: "manage" });
    } catch (err) {
      setConfirming(false);
      setError(err);
      setBusy(null);
    }
  };

  if (!cycle) {
    return (
      <section>
        <Heading>{t("manage.heading")}</Heading>
        {error ? <ErrorAlert error={error} /> : <Spinner label={t("app.loading")} />}
      </section>
    );
  }

  const ids = new Set(cycle.Steps.map((s) => s.ConnectorId).filter(Boolean));
  const unauthenticated = connectors.filter((c) => ids.has(c.ConnectorId) && c.Status === "NeedsAuthentication");
  return (
    <section className="detail">
      <button type="button" className="button button-ghost back" onClick={() => go({ screen: "manage" })}>
        <span aria-hidden="true">← </span>{t("detail.back")}
      </button>
      <div className="detail-head">
        <Heading>{cycle.Name}</Heading>
        <StatusBadge cycle={cycle} />
      </div>
      <p className="muted">
        {cycle.RunOnce ? t("manage.schedule.once") : cycle.Interval ? t("manage.schedule.every", { interval: interval(cycle.Interval) }) : ""}
      </p>
      {cycle.StatusReason && <Alert kind="info">{t("detail.reason", { reason: cycle.StatusReason })}</Alert>}
      {unauthenticated.map((c) => (
        <Alert key={c.Id}>{t("detail.needsAuth", { name: c.Name })}</Alert>
      ))}
      <ErrorAlert error={error} />
      {notice && <Alert kind="success">{notice}</Alert>}

      <div className="toolbar" role="group" aria-label={t("detail.actions")}>
        {cycle.Status === "Active" && (
          <button type="button" className="button" disabled={busy !== null} onClick={() => act("pause", () => api.pause(cycle.Id))}>
            {t("detail.pause")}
          </button>
        )}
        {cycle.Status === "Paused" && !needsSetup(cycle) && (
          <button type="button" className="button button-primary" disabled={busy !== null} onClick={() => act("resume", () => api.resume(cycle.Id))}>
            {t("detail.resume")}
          </button>
        )}
        {(cycle.Status === "Stopped" || needsSetup(cycle)) && (
          <button type="button" className="button button-primary" onClick={() => go({ screen: "wizard", cycleId: cycle.Id })}>
            {t("detail.activate")}
          </button>
        )}
        <button type="button" className="button" onClick={() => go({ screen: "wizard", cycleId: cycle.Id, start: "configure" })}>
          {t("detail.reconfigure")}
        </button>
        <button type="button" className="button" onClick={() => go({ screen: "wizard", cycleId: cycle.Id, start: "connect" })}>
          {t("detail.reauthenticate")}
        </button>
        <button type="button" className="button button-danger" onClick={() => setConfirming(true)}>
          {t("detail.remove")}
        </button>
      </div>

      <h2 className="section-title">{t("detail.runs")}</h2>
      {runs.length === 0 ? (
        <p className="muted">{t("detail.noRuns")}</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("detail.run", { number: "" }).trim()}</th>
              <th scope="col">{t("detail.started")}</th>
              <th scope="col">{t("detail.result")}</th>
              <th scope="col">{t("detail.records")}</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={run.Id}>
                <td>{run.Number}</td>
                <td>{dateTime(run.StartedAt, session.Locale)}</td>
                <td>
                  <Badge tone={run.Status === "Succeeded" ? "success" : run.Status === "Failed" ? "danger" : "neutral"}>
                    {t(`run.${run.Status}` as Key)}
                  </Badge>
                </td>
                <td>{t("detail.counts", { success: run.Transactions.Success ?? 0, errored: run.Transactions.Errored ?? 0 })}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2 className="section-title">{t("detail.errors")}</h2>
      {errored.length === 0 ? (
        <p className="muted">{t("detail.noErrors")}</p>
      ) : (
        <ul className="rows">
          {errored.map((tx) => (
            <li key={tx.Id} className="row">
              <div className="row-main">
                <p className="row-title" id={`tx-${tx.Id}`}>{t("detail.errorAt", { number: tx.Number, step: tx.Step })}</p>
                <p className="reason">{tx.Message}</p>
              </div>
              <button type="button" className="button" disabled={busy !== null} aria-describedby={`tx-${tx.Id}`}
                onClick={() => act(`retry-${tx.Id}`, () => api.retry(cycle.Id, tx.Id), t("detail.retried"))}>
                {busy === `retry-${tx.Id}` ? t("detail.retrying") : t("detail.retry")}
              </button>
            </li>
          ))}
        </ul>
      )}

      <dialog ref={dialog} className="dialog" aria-labelledby="remove-title" onCancel={() => setConfirming(false)}>
        <h2 id="remove-title">{t("remove.title", { name: cycle.Name })}</h2>
        <p>{t("remove.body")}</p>
        <div className="actions">
          <button type="button" className="button" onClick={() => setConfirming(false)}>{t("common.cancel")}</button>
          <button type="button" className="button button-danger" disabled={busy === "remove"} onClick={remove}>
            {busy === "remove" ? t("remove.removing") : t("remove.confirm")}
          </button>
        </div>
      </dialog>
    </section>
  );
}
