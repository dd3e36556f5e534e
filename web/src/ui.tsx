// The few building blocks every screen uses: labelled fields with their errors, alerts, badges, headings.
import { useEffect, useId, useRef, type ReactNode } from "react";
import { ApiError } from "./api";

/** A screen's heading, focused when the screen (or `focusKey`, a wizard's step) changes: where a
 * keyboard or screen-reader user carries on from. */
export function Heading({ children, focusKey }: { children: ReactNode; focusKey?: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [focusKey]);
  return (
    <h1 ref={ref} tabIndex={-1} className="heading">
      {children}
    </h1>
  );
}

export function Alert({ kind = "error", children }: { kind?: "error" | "success" | "info"; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const details = error instanceof ApiError ? error.details.filter((d) => d !== message) : [];
  return (
    <Alert>
      <p>{message}</p>
      {details.length > 0 && (
        <ul>
          {details.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      )}
    </Alert>
  );
}

interface FieldProps {
  label: string;
  hint?: string | null;
  errors?: string[];
  optional?: string | null;
  children: (props: { id: string; "aria-describedby"?: string; "aria-invalid"?: boolean }) => ReactNode;
}

/** A label, the control, a hint and the errors the API gave for it (announced, linked to the control). */
export function Field({ label, hint, errors = [], optional, children }: FieldProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", errors.length ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className={`field${errors.length ? " field-invalid" : ""}`}>
      <label htmlFor={id}>
        {label}
        {optional && <span className="optional"> ({optional})</span>}
      </label>
      {children({ id, "aria-describedby": described || undefined, "aria-invalid": errors.length > 0 || undefined })}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {errors.length > 0 && (
        <div className="field-error" id={`${id}-error`} role="alert">
          {errors.map((e) => (
            <p key={e}>{e}</p>
          ))}
        </div>
      )}
    </div>
  );
}

export function Badge({ tone, children }: { tone: "neutral" | "success" | "danger" | "accent"; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Spinner({ label }: { label: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function TemplateIcon({ name, icon }: { name: string; icon?: string | null }) {
  if (icon) return <img className="icon" src={icon} alt="" width={40} height={40} />;
  return (
    <span className="icon icon-letter" aria-hidden="true">
      {name.trim().charAt(0).toUpperCase()}
    </span>
  );
}
