// The mappings the template leaves to the account and the variables its steps read, as one form:
// dropdowns from trigger lookups, custom fields from custom-field lookups, the API's own validation at each field.
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, type Cycle, type Prerequisite, type StepField, type TriggerValue } from "../../api";
import { usePortal } from "../../context";
import { useT } from "../../strings";
import { Alert, ErrorAlert, Field, Spinner } from "../../ui";

interface Question {
  key: string; // step id + field, or "variable:" + name
  stepId: string | null;
  field: StepField | null;
  variable: string | null;
  accountConnectorId: string | null;
  group: string;
}

const CONFIG_REASONS = new Set(["MissingMapping", "MissingVariable", "InvalidPattern"]);
const variableOf = (p: Prerequisite) => p.Field ?? /variable '([^']+)'/.exec(p.Message)?.[1] ?? null;
const shown = (value: unknown) => (value === null || value === undefined ? "" : String(value));

export function ConfigureStep({ cycle, force, onDone }: { cycle: Cycle; force: boolean; onDone: () => void }) {
  const { api } = usePortal();
  const t = useT();
  const [questions, setQuestions] = useState<Question[] | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [remaining, setRemaining] = useState<Prerequisite[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    (async () => {
      const found: Question[] = [];
      const initial: Record<string, string> = {};
      for (const step of cycle.Steps.filter((s) => s.Type === "Method")) {
        let fields = await api.fields(step.Id);
        if (fields.CustomFields === "NotLookedUp" && fields.AccountConnectorId && fields.Method) {
          await api.lookUpCustomFields(fields.AccountConnectorId, fields.Method);
          fields = await api.fields(step.Id);
        }
        for (const field of fields.Fields.filter((f) => f.UserConfigurable)) {
          const key = `${step.Id}:${field.Field}`;
          found.push({ key, stepId: step.Id, field, variable: null, accountConnectorId: fields.AccountConnectorId, group: step.Name });
          initial[key] = shown(field.Mapping?.Value);
        }
      }
      const [unmet, variables] = await Promise.all([api.prerequisites(cycle.Id), api.variables(cycle.Id)]);
      const names = new Set(unmet.filter((p) => p.Reason !== "MissingMapping").map(variableOf).filter((v): v is string => v !== null));
      for (const name of names) {
        const key = `variable:${name}`;
        found.push({ key, stepId: null, field: null, variable: name, accountConnectorId: null, group: t("configure.variables") });
        initial[key] = shown(variables.find((v) => v.Name === name)?.Value);
      }
      setValues(initial);
      setQuestions(found);
      const blocking = unmet.filter((p) => CONFIG_REASONS.has(p.Reason));
      if (!force && found.length === 0 && blocking.length === 0) onDone(); // nothing to ask
      setRemaining(found.length === 0 ? blocking : []);
    })().catch(setError);
  }, []); // once, on entering the step

  if (error && !questions) return <ErrorAlert error={error} />;
  if (!questions) return <Spinner label={t("app.loading")} />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const errors: Record<string, string[]> = {};
    for (const q of questions) {
      const value = values[q.key] ?? "";
      if (value === "") {
        if (q.variable || !q.field?.IsOptional) errors[q.key] = [t("common.required")];
        continue;
      }
      try {
        if (q.variable) await api.setVariable(cycle.Id, q.variable, value);
        else await api.setMapping(q.stepId!, q.field!.Field, value);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        errors[q.key] = err.details.length > 0 ? err.details : [err.message];
      }
    }
    setFieldErrors(errors);
    try {
      const unmet = (await api.prerequisites(cycle.Id)).filter((p) => CONFIG_REASONS.has(p.Reason));
      setRemaining(unmet);
      if (Object.keys(errors).length === 0 && unmet.length === 0) onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const groups = [...new Set(questions.map((q) => q.group))];
  return (
    <form className="panel form" onSubmit={submit} noValidate>
      <p className="lead">{questions.length ? t("configure.intro") : t("configure.nothing")}</p>
      <ErrorAlert error={error} />
      {groups.map((group) => (
        <fieldset key={group} className="group">
          <legend>{group}</legend>
          {questions.filter((q) => q.group === group).map((q) => (
            <Question key={q.key} question={q} value={values[q.key] ?? ""} errors={fieldErrors[q.key] ?? []}
              onChange={(value) => setValues((was) => ({ ...was, [q.key]: value }))} />
          ))}
        </fieldset>
      ))}
      {remaining.length > 0 && (
        <Alert>
          <p>{t("configure.remaining")}</p>
          <ul>{remaining.map((p) => <li key={p.Message}>{p.Message}</li>)}</ul>
        </Alert>
      )}
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? t("common.saving") : force ? t("common.save") : t("common.continue")}
        </button>
      </div>
    </form>
  );
}

function Question({ question, value, errors, onChange }: {
  question: Question; value: string; errors: string[]; onChange: (value: string) => void;
}) {
  const { api } = usePortal();
  const t = useT();
  const field = question.field;
  const trigger = field?.TriggerName && question.accountConnectorId ? field.TriggerName : null;
  const [choices, setChoices] = useState<TriggerValue[] | null>(
    field && field.Values.length > 0 ? field.Values.map((v) => ({ Value: v, Name: null })) : null);
  const [choiceError, setChoiceError] = useState<string | null>(null);

  useEffect(() => {
    if (!trigger || !question.accountConnectorId) return;
    api.trigger(question.accountConnectorId, trigger).then(setChoices, (err: Error) => setChoiceError(err.message));
  }, [api, trigger, question.accountConnectorId]);

  const label = field ? field.Label : question.variable!;
  const hint = choiceError ? t("configure.choicesFailed", { message: choiceError }) : field?.Description;
  return (
    <Field label={label} hint={hint} errors={errors} optional={field?.IsOptional ? t("common.optional") : null}>
      {(props) =>
        trigger && choices === null && !choiceError ? (
          <select {...props} disabled>
            <option>{t("configure.loadingChoices")}</option>
          </select>
        ) : choices ? (
          <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
            <option value="">{t("configure.choose")}</option>
            {choices.map((c) => (
              <option key={c.Value} value={c.Value}>{c.Name ?? c.Value}</option>
            ))}
          </select>
        ) : (
          <input {...props} type={field?.DataType === "Integer" || field?.DataType === "Decimal" ? "number" : "text"}
            value={value} onChange={(e) => onChange(e.target.value)} />
        )
      }
    </Field>
  );
}
