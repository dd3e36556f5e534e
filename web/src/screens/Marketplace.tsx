// The session's templates: search, category filter, the installed ones marked.
import { useEffect, useMemo, useState } from "react";
import type { Cycle, Template } from "../api";
import { usePortal } from "../context";
import { useT } from "../strings";
import { Badge, ErrorAlert, Field, Heading, Spinner, TemplateIcon } from "../ui";
import { needsSetup } from "./status";

export function Marketplace() {
  const { api, go } = usePortal();
  const t = useT();
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [cycles, setCycles] = useState<Cycle[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("");

  useEffect(() => {
    Promise.all([api.templates(), api.cycles()]).then(([found, installed]) => {
      setTemplates(found);
      setCycles(installed);
    }, setError);
  }, [api]);

  const categories = useMemo(
    () => [...new Set((templates ?? []).flatMap((tpl) => tpl.Categories ?? []))].sort(),
    [templates],
  );
  const shown = (templates ?? []).filter((tpl) => {
    const text = [tpl.Name, tpl.Description ?? "", ...(tpl.Connectors ?? []), ...(tpl.Categories ?? [])].join(" ").toLowerCase();
    return text.includes(query.trim().toLowerCase()) && (!category || (tpl.Categories ?? []).includes(category));
  });

  return (
    <section aria-labelledby="market-heading">
      <div id="market-heading">
        <Heading>{t("market.heading")}</Heading>
      </div>
      <p className="lead">{t("market.intro")}</p>
      <ErrorAlert error={error} />
      {templates === null && !error && <Spinner label={t("app.loading")} />}
      {templates !== null && (
        <>
          <div className="filters" role="search">
            <Field label={t("market.search")}>
              {(props) => <input {...props} type="search" value={query} onChange={(e) => setQuery(e.target.value)} />}
            </Field>
            {categories.length > 0 && (
              <Field label={t("market.category")}>
                {(props) => (
                  <select {...props} value={category} onChange={(e) => setCategory(e.target.value)}>
                    <option value="">{t("market.allCategories")}</option>
                    {categories.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                )}
              </Field>
            )}
          </div>
          <p className="muted" role="status">
            {templates.length === 0 ? t("market.none") : shown.length === 0 ? t("market.empty") : shown.length === 1 ? t("market.countOne") : t("market.count", { count: shown.length })}
          </p>
          <ul className="cards">
            {shown.map((tpl) => {
              const installed = cycles.find((c) => c.TemplateId === tpl.Id);
              const headingId = `template-${tpl.Id}`;
              return (
                <li key={tpl.Id} className="card" aria-labelledby={headingId}>
                  <div className="card-head">
                    <TemplateIcon name={tpl.Name} icon={tpl.Icon} />
                    <div>
                      <h2 id={headingId} className="card-title">
                        {tpl.Name}
                      </h2>
                      {installed && <Badge tone="success">{t("market.installed")}</Badge>}
                    </div>
                  </div>
                  {tpl.Description && <p className="card-body">{tpl.Description}</p>}
                  {(tpl.Connectors ?? []).length > 0 && (
                    <p className="muted small">{t("market.uses", { connectors: (tpl.Connectors ?? []).join(", ") })}</p>
                  )}
                  {(tpl.Categories ?? []).length > 0 && (
                    <ul className="chips" aria-label={t("market.categories")}>
                      {(tpl.Categories ?? []).map((c) => (
                        <li key={c} className="chip">
                          {c}
                        </li>
                      ))}
                    </ul>
                  )}
                  <div className="card-actions">
                    {!installed && (
                      <button type="button" className="button button-primary" aria-describedby={headingId}
                        onClick={() => go({ screen: "wizard", templateId: tpl.Id })}>
                        {t("market.install")}
                      </button>
                    )}
                    {installed && needsSetup(installed) && (
                      <button type="button" className="button button-primary" aria-describedby={headingId}
                        onClick={() => go({ screen: "wizard", cycleId: installed.Id })}>
                        {t("market.continue")}
                      </button>
                    )}
                    {installed && !needsSetup(installed) && (
                      <button type="button" className="button" aria-describedby={headingId}
                        onClick={() => go({ screen: "manage", cycleId: installed.Id })}>
                        {t("market.manage")}
                      </button>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}
