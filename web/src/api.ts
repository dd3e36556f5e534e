// The public API, called with the portal session's bearer token: nothing a partner's own UI could not call.

export interface ErrorItem {
  Path: string;
  Message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: ErrorItem[] = [],
  ) {
    super(message);
  }

  /** The messages of the errors whose Path starts with `path`. */
  at(path: string): string[] {
    return this.errors.filter((e) => e.Path === path || e.Path.startsWith(`${path}.`) || e.Path.startsWith(`${path}[`)).map((e) => e.Message);
  }

  /** The message and every error's, for a banner. */
  get details(): string[] {
    return this.errors.map((e) => e.Message);
  }
}

export interface Theme {
  Logo: string | null;
  Variables: Record<string, string>;
}

export interface PortalSession {
  Id: string;
  AccountId: string;
  ExpiresAt: string;
  Templates: string[] | null;
  AllowedOrigins: string[];
  Theme: Theme;
  Locale: string;
  ReturnUrl: string | null;
}

export interface Template {
  Id: string;
  Name: string;
  Version: number;
  Description?: string;
  Icon?: string | null;
  Categories?: string[];
  Connectors?: string[];
  Webhook?: boolean;
  Intervals?: number[] | null;
}

export type CycleStatus = "Paused" | "Active" | "Stopping" | "Stopped" | "Errored";

export interface CycleStep {
  Id: string;
  TemplateStepId: string;
  Name: string;
  Type: string;
  AccountConnectorId: string | null;
  ConnectorId?: string | null;
}

export interface Cycle {
  Id: string;
  Name: string;
  Status: CycleStatus;
  StatusReason: string | null;
  TemplateId: string;
  StartTime: string | null;
  Interval: number | null;
  RunOnce: boolean;
  Steps: CycleStep[];
}

export interface Prerequisite {
  StepId: string;
  Reason: string;
  Message: string;
  Field?: string | null;
}

export interface AccountConnector {
  Id: string;
  ConnectorId: string;
  Name: string;
  AuthenticationId: string | null;
  Authenticated: boolean;
  Status: "NeedsAuthentication" | "CredentialsSet" | "Verified";
  StatusReason: string | null;
  Properties: string[];
}

export interface Authentication {
  Name: string;
  AuthType: "None" | "ApiKey" | "Basic" | "Bearer" | "OAuth2";
  OAuth2Type: "AuthorisationCode" | "ClientCredentials" | "PasswordCredentials" | null;
  ApiKeyName: string | null;
  IsDefault: boolean;
}

export interface ConnectorProperty {
  Name: string;
  Description: string | null;
  IsOptional: boolean;
  IsSensitive: boolean;
  DefaultValue: string | null;
  Values: string[];
}

export interface ConnectorAuthentication {
  ConnectorId: string;
  Name: string;
  Description: string;
  Authentications: Authentication[];
  Properties: ConnectorProperty[];
  Verified: boolean;
}

export interface Mapping {
  MappingType: string;
  Value?: unknown;
  UserConfigurable?: boolean;
}

export interface StepField {
  Field: string;
  Label: string;
  DataType: string;
  IsOptional: boolean;
  Values: string[];
  TriggerName: string | null;
  Description: string | null;
  Custom: boolean;
  Mapping: Mapping | null;
  UserConfigurable: boolean;
}

export interface StepFields {
  StepId: string;
  AccountConnectorId: string | null;
  Method: string | null;
  CustomFields: "None" | "NotLookedUp" | "LookedUp";
  Fields: StepField[];
}

export interface TriggerValue {
  Value: string;
  Name: string | null;
}

export interface Variable {
  Name: string;
  Value: unknown;
}

export interface Run {
  Id: string;
  Number: number;
  Status: "Running" | "Succeeded" | "Failed" | "Cancelled";
  StartedAt: string;
  FinishedAt: string | null;
  Transactions: Partial<Record<"Success" | "Errored" | "Stopped", number>>;
  Message: string | null;
}

export interface Transaction {
  Id: string;
  RunId: string;
  Number: number;
  Status: "Pending" | "Success" | "Errored" | "Stopped";
  Step: string;
  Message: string | null;
  Retries: number;
  UpdatedAt: string;
}

export interface Activation {
  Interval?: number;
  RunOnce: boolean;
}

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });

export class Api {
  /** `onExpired`: the token is no longer accepted (the session ended); every later call would fail too. */
  constructor(
    private readonly token: string,
    private readonly onExpired: () => void = () => undefined,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const extra = body === undefined ? { headers: {} } : json(body);
    const response = await fetch(`/v1.0${path}`, {
      method,
      body: "body" in extra ? extra.body : undefined,
      headers: { Accept: "application/json", Authorization: `Bearer ${this.token}`, ...extra.headers },
      credentials: "omit",
    });
    if (response.status === 204) return undefined as T;
    const answer: unknown = await response.json().catch(() => null);
    if (response.status === 401) this.onExpired();
    if (!response.ok) {
      const problem = (answer ?? {}) as { Message?: string; Errors?: ErrorItem[] };
      throw new ApiError(response.status, problem.Message ?? `${response.status} ${response.statusText}`, problem.Errors ?? []);
    }
    return answer as T;
  }

  session = (id: string) => this.call<PortalSession>("GET", `/portal-sessions/${enc(id)}`);
  templates = () => this.call<Template[]>("GET", "/templates");
  install = (templateId: string) => this.call<Cycle>("POST", `/templates/${enc(templateId)}/install`, {});
  cycles = () => this.call<Cycle[]>("GET", "/cycles");
  cycle = (id: string) => this.call<Cycle>("GET", `/cycles/${enc(id)}`);
  prerequisites = (id: string) => this.call<Prerequisite[]>("GET", `/cycles/${enc(id)}/prerequisites`);
  accountConnectors = () => this.call<AccountConnector[]>("GET", "/account/connectors");
  authentication = (connectorId: string) =>
    this.call<ConnectorAuthentication>("GET", `/connectors/${enc(connectorId)}/authentication`);
  saveConnector = (existing: string | null, body: Record<string, unknown>) =>
    existing
      ? this.call<AccountConnector>("PUT", `/account/connectors/${enc(existing)}`, body)
      : this.call<AccountConnector>("POST", "/account/connectors", body);
  signInToken = (accountId: string) =>
    this.call<{ Token: string }>("POST", `/accounts/${enc(accountId)}/signintoken`);
  fields = (stepId: string) => this.call<StepFields>("GET", `/steps/${enc(stepId)}/fields`);
  setMapping = (stepId: string, field: string, value: string) =>
    this.call<Mapping>("PUT", `/steps/${enc(stepId)}/fieldmappings/${enc(field)}`, { MappingType: "StaticValue", Value: value });
  trigger = (accountConnectorId: string, name: string) =>
    this.call<TriggerValue[]>("POST", `/account/connectors/${enc(accountConnectorId)}/triggers/${enc(name)}`, {});
  lookUpCustomFields = (accountConnectorId: string, method: string) =>
    this.call<unknown>("POST", `/account/connectors/${enc(accountConnectorId)}/methods/${enc(method)}/customfields`);
  variables = (cycleId: string) => this.call<Variable[]>("GET", `/cycles/${enc(cycleId)}/variables`);
  setVariable = (cycleId: string, name: string, value: string) =>
    this.call<Variable>("PUT", `/cycles/${enc(cycleId)}/variables/${enc(name)}`, { Value: value });
  activate = (cycleId: string, activation: Activation) =>
    this.call<Cycle>("PUT", `/cycles/${enc(cycleId)}/activate`, activation);
  pause = (cycleId: string) => this.call<Cycle>("PUT", `/cycles/${enc(cycleId)}/pause`);
  resume = (cycleId: string) => this.call<Cycle>("PUT", `/cycles/${enc(cycleId)}/resume`);
  deactivate = (cycleId: string) => this.call<Cycle>("PUT", `/cycles/${enc(cycleId)}/deactivate?finishQueuedTransactions=false`);
  remove = (cycleId: string) => this.call<void>("DELETE", `/cycles/${enc(cycleId)}`);
  runs = (cycleId: string) => this.call<Run[]>("GET", `/cycles/${enc(cycleId)}/runs`);
  errored = (cycleId: string) =>
    this.call<Transaction[]>("GET", `/cycles/${enc(cycleId)}/transactions?status=Errored&per_page=20`);
  retry = (cycleId: string, transactionId: string) =>
    this.call<unknown>("POST", `/cycles/${enc(cycleId)}/transactions/${enc(transactionId)}/retry`);
}

const enc = encodeURIComponent;
