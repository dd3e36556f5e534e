// Every label the portal shows, one JSON file per locale (src/strings/*.json); English is the fallback.
import { createContext, useContext } from "react";
import en from "./strings/en.json";
import fr from "./strings/fr.json";

export type Key = keyof typeof en;
export type Strings = Record<Key, string>;
const LOCALES: Record<string, Strings> = { en, fr };

/** The nearest locale the portal has: fr-CA → fr → en. */
export function pickLocale(tag: string): string {
  const parts = tag.toLowerCase().split("-");
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join("-");
    if (candidate in LOCALES) return candidate;
  }
  return "en";
}

export type Translate = (key: Key, vars?: Record<string, string | number>) => string;

export function translator(locale: string): Translate {
  const strings = LOCALES[pickLocale(locale)];
  return (key, vars = {}) =>
    (strings[key] ?? en[key]).replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

export const StringsContext = createContext<Translate>(translator("en"));
export const useT = () => useContext(StringsContext);
