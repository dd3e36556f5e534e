// The portal's shell: the session it was opened with, its theme and locale, the header and the screen shown.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Api, ApiError, type PortalSession } from "./api";
import { PortalContext, type Route } from "./context";
import { allowEvents, embeddingOrigin, emit, isFramed, launch } from "./embed";
import { Manage } from "./screens/Manage";
import { Marketplace } from "./screens/Marketplace";
import { Wizard } from "./screens/Wizard";
import { StringsContext, translator, type Key } from "./strings";
import { Alert, Spinner } from "./ui";

type Boot = { state: "loading" } | { state: "failed"; message: Key; detail?: string } | { state: "ready"; session: PortalSession };

const opened = launch();

function applyTheme(session: PortalSession): void {
  const root = document.documentElement;
  for (const [name, value] of Object.entries(session.Theme.Variables)) {
    if (name.startsWith("--cw-")) root.style.setProperty(name, value);
  }
  root.lang = session.Locale;
}

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: "loading" });
  const api = useMemo(() => new Api(opened.token ?? "", () => {
    emit("error", { message: "the portal session has expired" });
    setBoot({ state: "failed", message: "app.expired" });
  }), []);
  const [route, setRoute] = useState<Route>({ screen: "marketplace" });

  useEffect(() => {
    if (!opened.session || !opened.token) {
      setBoot({ state: "failed", message: "app.noToken" });
      return;
    }
    api.session(opened.session).then(
      (session) => {
        const ancestor = embeddingOrigin();
        const parent = opened.parent && session.AllowedOrigins.includes(opened.parent) ? opened.parent : null;
        if (isFramed && (!parent || (ancestor !== null && ancestor !== parent))) {
          setBoot({ state: "failed", message: "app.refused" }); // framed by a page the session does not allow
          return;
        }
        allowEvents(parent);
        applyTheme(session);
        setBoot({ state: "ready", session });
        emit("ready", { session: session.Id });
      },
      (error: unknown) => {
        const expired = error instanceof ApiError && (error.status === 401 || error.status === 404);
        setBoot({ state: "failed", message: expired ? "app.expired" : "app.error", detail: String((error as Error).message) });
      },
    );
  }, [api]);

  const go = useCallback((next: Route) => setRoute(next), []);
  const locale = boot.state === "ready" ? boot.session.Locale : navigator.language;
  const t = useMemo(() => translator(locale), [locale]);

  useEffect(() => {
    document.title = t("app.title");
  }, [t]);

  if (boot.state !== "ready") {
    return (
      <StringsContext.Provider value={t}>
        <main className="page page-center">
          {boot.state === "loading" ? (
            <Spinner label={t("app.loading")} />
          ) : (
            <Alert>{t(boot.message, { message: boot.detail ?? "" })}</Alert>
          )}
        </main>
      </StringsContext.Provider>
    );
  }

  const session = boot.session;
  const close = () => {
    if (isFramed) emit("closed");
    else if (session.ReturnUrl) location.assign(session.ReturnUrl);
  };
  const tab = (screen: "marketplace" | "manage", label: Key) => (
    <li>
      <button
        type="button"
        className={`tab${route.screen === screen || (screen === "marketplace" && route.screen === "wizard") ? " tab-current" : ""}`}
        aria-current={route.screen === screen ? "page" : undefined}
        onClick={() => go({ screen })}
      >
        {t(label)}
      </button>
    </li>
  );

  return (
    <StringsContext.Provider value={t}>
      <PortalContext.Provider value={{ api, session, go }}>
        <header className="topbar">
          <div className="brand">
            {session.Theme.Logo && <img src={session.Theme.Logo} alt="" className="logo" />}
            <span className="brand-name">{t("app.title")}</span>
          </div>
          <nav aria-label={t("app.nav")}>
            <ul className="tabs">
              {tab("marketplace", "app.nav.marketplace")}
              {tab("manage", "app.nav.manage")}
            </ul>
          </nav>
          {(isFramed || session.ReturnUrl) && (
            <button type="button" className="button button-ghost" onClick={close}>
              {isFramed ? t("app.close") : t("app.done")}
            </button>
          )}
        </header>
        <main className="page">
          {route.screen === "marketplace" && <Marketplace />}
          {route.screen === "wizard" && <Wizard key={route.cycleId ?? route.templateId} route={route} />}
          {route.screen === "manage" && <Manage key={route.cycleId ?? "all"} cycleId={route.cycleId} />}
        </main>
      </PortalContext.Provider>
    </StringsContext.Provider>
  );
}
