// Install wizard: install the template (or carry on with an installed cycle), then connect, configure, activate:
// each step asks what the cycle's prerequisites say is missing, and nothing already given.
import { useEffect, useRef, useState } from "react";
import type { Cycle } from "../api";
import { usePortal, type Route } from "../context";
import { emit } from "../embed";
import { useT, type Key } from "../strings";
import { ErrorAlert, Heading, Spinner } from "../ui";
import { ActivateStep } from "./wizard/ActivateStep";
import { ConfigureStep } from "./wizard/ConfigureStep";
import { ConnectStep } from "./wizard/ConnectStep";

type Stage = "connect" | "configure" | "activate";
const STAGES: [Stage, Key][] = [
  ["connect", "wizard.step.connect"],
  ["configure", "wizard.step.configure"],
  ["activate", "wizard.step.activate"],
];

export function Wizard({ route }: { route: Extract<Route, { screen: "wizard" }> }) {
  const { api, go } = usePortal();
  const t = useT();
  const [cycle, setCycle] = useState<Cycle | null>(null);
  const [stage, setStage] = useState<Stage>(route.start ?? "connect");
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);
  // Reconnecting or reconfiguring an active integration ends after that step.
  const single = route.start !== undefined;

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    if (route.cycleId) {
      api.cycle(route.cycleId).then(setCycle, setError);
    } else if (route.templateId) {
      api.install(route.templateId).then((installed) => {
        emit("installed", { cycleId: installed.Id, templateId: installed.TemplateId, name: installed.Name });
        setCycle(installed);
      }, (err: unknown) => {
        emit("error", { message: (err as Error).message });
        setError(err);
      });
    }
  }, [api, route.cycleId, route.templateId]);

  const next = (from: Stage) => {
    if (single && cycle) go({ screen: "manage", cycleId: cycle.Id });
    else setStage(from === "connect" ? "configure" : "activate");
  };

  return (
    <section className="wizard">
      <Heading focusKey={stage}>{cycle ? t("wizard.heading", { name: cycle.Name }) : t("wizard.installing")}</Heading>
      <ErrorAlert error={error} />
      {!cycle && !error && <Spinner label={t("wizard.installing")} />}
      {cycle && (
        <>
          {!single && (
            <nav aria-label={t("wizard.progress")}>
              <ol className="stepper">
                {STAGES.map(([name, label], index) => {
                  const position = STAGES.findIndex(([s]) => s === stage);
                  const state = index < position ? "done" : index === position ? "current" : "todo";
                  return (
                    <li key={name} className={`stepper-item stepper-${state}`} aria-current={state === "current" ? "step" : undefined}>
                      <span className="stepper-number" aria-hidden="true">{state === "done" ? "✓" : index + 1}</span>
                      <span>{t(label)}</span>
                    </li>
                  );
                })}
              </ol>
            </nav>
          )}
          {stage === "connect" && <ConnectStep cycle={cycle} force={route.start === "connect"} onDone={() => next("connect")} />}
          {stage === "configure" && <ConfigureStep cycle={cycle} force={route.start === "configure"} onDone={() => next("configure")} />}
          {stage === "activate" && (
            <ActivateStep cycle={cycle} onDone={(active) => go({ screen: "manage", cycleId: active.Id })} />
          )}
        </>
      )}
    </section>
  );
}
