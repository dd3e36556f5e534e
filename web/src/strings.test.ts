import { describe, expect, it } from "vitest";
import { pickLocale, translator } from "./strings";

describe("strings", () => {
  it("falls back to the nearest locale it has", () => {
    expect(pickLocale("fr-CA")).toBe("fr");
    expect(pickLocale("FR")).toBe("fr");
    expect(pickLocale("de-AT")).toBe("en");
  });

  it("fills the named values in and leaves unknown ones as written", () => {
    expect(translator("en")("connect.submit", { name: "Demo CRM" })).toBe("Connect Demo CRM");
    expect(translator("fr")("connect.submit", { name: "Demo CRM" })).toBe("Connecter Demo CRM");
    expect(translator("en")("connect.submit")).toBe("Connect {name}");
  });
});
