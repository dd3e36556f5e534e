// Activate with one of the schedules the partner allows (the template's Intervals), or on events for a webhook cycle.
import { useEffect, useState, type FormEvent } from "react";
import type { Cycle, Template } from "../../api";
import { usePortal } from "../../context";
import { emit } from "../../embed";
import { useT } from "../../strings";
import { ErrorAlert, Spinner } from "../../ui";
import { useInterval } from "../format";

const DEFAULT_INTERVALS = [15, 60, 1440];

export function ActivateStep({ cycle, onDone }: { cycle: Cycle; onDone: (cycle: Cycle) => void }) {
  const { api } = usePortal();
  const t = useT();
  const interval = useInterval();
  const [template, setTemplate] = useState<Template | null | undefined>(undefined);
  const [choice, setChoice] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api.templates().then((all) => {
      const found = all.find((tpl) => tpl.Id === cycle.TemplateId) ?? null;
      setTemplate(found);
      setChoice(found?.Webhook ? "events" : String((found?.Intervals ?? DEFAULT_INTERVALS)[0] ?? "once"));
    }, setError);
  }, [api, cycle.TemplateId]);

  if (template === undefined && !error) return <Spinner label={t("app.loading")} />;
  const options: [string, string][] = template?.Webhook
    ? [["events", t("activate.events")]]
    : [
        ...(template?.Intervals ?? DEFAULT_INTERVALS).map((m): [string, string] => [String(m), t("activate.every", { interval: interval(m) })]),
        ["once", t("activate.once")],
      ];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const activation = choice === "once" ? { RunOnce: true } : choice === "events" ? { RunOnce: false } : { RunOnce: false, Interval: Number(choice) };
      const active = await api.activate(cycle.Id, activation);
      emit("activated", { cycleId: active.Id, name: active.Name });
      onDone(active);
    } catch (err) {
      emit("error", { message: (err as Error).message });
      setError(err);
      setBusy(false);
    }
  };

  return (
    <form className="panel form" onSubmit={submit}>
      <ErrorAlert error={error} />
      <fieldset className="group">
        <legend>{t("activate.schedule")}</legend>
        <p className="hint">{t("activate.intro")}</p>
        <div className="choices">
          {options.map(([value, label]) => (
            <label key={value} className="choice">
              <input type="radio" name="schedule" value={value} checked={choice === value} onChange={() => setChoice(value)} />
              <span>{label}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? t("activate.activating") : t("activate.submit")}
        </button>
      </div>
    </form>
  );
}
