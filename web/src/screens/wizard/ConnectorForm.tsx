// One connector's credentials and properties, as its authentication definition declares them.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, type AccountConnector, type Authentication, type ConnectorAuthentication, type ConnectorProperty } from "../../api";
import { usePortal } from "../../context";
import { emit } from "../../embed";
import { useT } from "../../strings";
import { Alert, ErrorAlert, Field } from "../../ui";

interface Props {
  definition: ConnectorAuthentication;
  installed: AccountConnector | undefined;
  onConnected: () => void;
}

interface OAuthOutcome {
  source: string;
  status: "success" | "error";
  id: string | null;
  message: string | null;
}

const isConsent = (auth: Authentication | undefined) => auth?.AuthType === "OAuth2" && auth.OAuth2Type === "AuthorisationCode";

export function ConnectorForm({ definition, installed, onConnected }: Props) {
  const { api, session } = usePortal();
  const t = useT();
  const initial = definition.Authentications.find((a) => a.Name === installed?.AuthenticationId)
    ?? definition.Authentications.find((a) => a.IsDefault) ?? definition.Authentications[0];
  const [authName, setAuthName] = useState(initial?.Name ?? "");
  const [secret, setSecret] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [properties, setProperties] = useState<Record<string, string>>(() =>
    Object.fromEntries(definition.Properties.map((p) => [p.Name, p.DefaultValue ?? ""])));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [waiting, setWaiting] = useState(false);
  const cleanup = useRef<() => void>(() => undefined);
  useEffect(() => () => cleanup.current(), []);

  const auth = definition.Authentications.find((a) => a.Name === authName);
  const name = definition.Name;
  const errorsAt = (path: string) => (error instanceof ApiError ? error.at(path) : []);
  const propertyErrors = (p: ConnectorProperty, index: number) =>
    error instanceof ApiError
      ? error.errors.filter((e) => e.Path.startsWith(`$.Properties[${index}]`) || e.Message.includes(`'${p.Name}'`)).map((e) => e.Message)
      : [];

  const authValue = (): string | undefined => {
    switch (auth?.AuthType) {
      case "ApiKey":
      case "Bearer":
        return secret || undefined;
      case "Basic":
        return username || password ? btoa(`${username}:${password}`) : undefined;
      default:
        return undefined;
    }
  };

  const save = async () => {
    const filled = definition.Properties.filter((p) => properties[p.Name] !== "");
    const body: Record<string, unknown> = {
      AuthenticationId: auth?.Name,
      AuthValue: authValue(),
      Properties: filled.map((p) => ({ Name: p.Name, Value: properties[p.Name] })),
    };
    if (!installed) body.ConnectorId = definition.ConnectorId;
    return api.saveConnector(installed?.Id ?? null, body);
  };

  const consent = async (popup: Window) => {
    const saved = await save();
    const { Token } = await api.signInToken(session.AccountId);
    const landing = `${location.origin}/portal/oauth.html`;
    const query = new URLSearchParams({ id: saved.Id, token: Token, targetOrigin: landing });
    popup.location.href = `/connectorauth/updateaccountconnectoroauth?${query}`;
    setWaiting(true);
    const outcome = await new Promise<OAuthOutcome | null>((resolve) => {
      const onMessage = (event: MessageEvent) => {
        const data = event.data as OAuthOutcome | null;
        if (event.origin !== location.origin || event.source !== popup || data?.source !== "cyclewright-oauth") return;
        resolve(data);
      };
      const closed = window.setInterval(() => popup.closed && resolve(null), 500);
      window.addEventListener("message", onMessage);
      cleanup.current = () => {
        window.removeEventListener("message", onMessage);
        window.clearInterval(closed);
      };
    });
    cleanup.current();
    setWaiting(false);
    if (outcome === null) throw new Error(t("connect.oauthClosed"));
    if (outcome.status !== "success") throw new Error(t("connect.oauthFailed", { name, message: outcome.message ?? "" }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    // A popup opens only in answer to the click itself: open it now, point it at the consent once it is known.
    const popup = isConsent(auth) ? window.open("about:blank", "cyclewright-oauth", "popup,width=520,height=700") : null;
    if (isConsent(auth) && !popup) {
      setError(new Error(t("connect.oauthBlocked")));
      return;
    }
    setBusy(true);
    try {
      if (popup) await consent(popup);
      else await save();
      emit("authenticated", { connector: name, connectorId: definition.ConnectorId });
      onConnected();
    } catch (err) {
      popup?.close();
      setError(err as Error);
      emit("error", { message: (err as Error).message, connector: name });
    } finally {
      setBusy(false);
    }
  };

  const secretLabel = auth?.AuthType === "ApiKey" ? (auth.ApiKeyName ? `${t("connect.apiKey")} (${auth.ApiKeyName})` : t("connect.apiKey")) : t("connect.token");
  const required = !installed; // changing credentials may leave what is saved as it is

  return (
    <form className="form" onSubmit={submit} noValidate aria-label={name}>
      {error && !(error instanceof ApiError && error.errors.length > 0 && error.at("$.AuthValue").length > 0) && (
        <ErrorAlert error={error} />
      )}
      {error instanceof ApiError && error.at("$.AuthValue").length > 0 && (
        <Alert>{t("connect.failed", { name })}</Alert>
      )}
      {definition.Authentications.length > 1 && (
        <Field label={t("connect.method")}>
          {(props) => (
            <select {...props} value={authName} onChange={(e) => setAuthName(e.target.value)}>
              {definition.Authentications.map((a) => (
                <option key={a.Name} value={a.Name}>{a.Name}</option>
              ))}
            </select>
          )}
        </Field>
      )}
      {(auth?.AuthType === "ApiKey" || auth?.AuthType === "Bearer") && (
        <Field label={secretLabel} errors={errorsAt("$.AuthValue")}>
          {(props) => (
            <input {...props} type="password" autoComplete="off" required={required} value={secret}
              onChange={(e) => setSecret(e.target.value)} />
          )}
        </Field>
      )}
      {auth?.AuthType === "Basic" && (
        <>
          <Field label={t("connect.username")} errors={errorsAt("$.AuthValue")}>
            {(props) => (
              <input {...props} type="text" autoComplete="off" required={required} value={username}
                onChange={(e) => setUsername(e.target.value)} />
            )}
          </Field>
          <Field label={t("connect.password")}>
            {(props) => (
              <input {...props} type="password" autoComplete="off" required={required} value={password}
                onChange={(e) => setPassword(e.target.value)} />
            )}
          </Field>
        </>
      )}
      {definition.Properties.map((p, index) => (
        <Field key={p.Name} label={p.Name} hint={p.Description} errors={propertyErrors(p, index)}
          optional={p.IsOptional ? t("common.optional") : null}>
          {(props) =>
            p.Values.length > 0 ? (
              <select {...props} value={properties[p.Name]} onChange={(e) => setProperties({ ...properties, [p.Name]: e.target.value })}>
                <option value="">{t("configure.choose")}</option>
                {p.Values.map((v) => <option key={v}>{v}</option>)}
              </select>
            ) : (
              <input {...props} type={p.IsSensitive ? "password" : "text"} autoComplete="off"
                required={required && !p.IsOptional} value={properties[p.Name]}
                onChange={(e) => setProperties({ ...properties, [p.Name]: e.target.value })} />
            )
          }
        </Field>
      ))}
      {waiting && <p className="muted" role="status">{t("connect.oauthWaiting")}</p>}
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? t("connect.checking") : isConsent(auth) ? t("connect.oauth", { name }) : t("connect.submit", { name })}
        </button>
      </div>
    </form>
  );
}
