// The portal's side of the embedding: what it was opened with, and the events it posts to the page embedding it.

export type PortalEvent = "ready" | "authenticated" | "installed" | "activated" | "error" | "closed";

export interface Launch {
  session: string | null;
  parent: string | null; // the embedding page's origin, as the SDK named it
  token: string | null;
}

const framed = window.parent !== window;

/** The session, the parent origin and the token: the token comes in the address's fragment, which
 * is removed at once (kept for this tab only, so a reload carries on). */
export function launch(): Launch {
  const query = new URLSearchParams(location.search);
  const session = query.get("session");
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = `cyclewright-portal:${session}`;
  let token = fragment.get("token");
  if (token) {
    sessionStorage.setItem(key, token);
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    token = sessionStorage.getItem(key);
  }
  return { session, parent: origin(query.get("parent")), token };
}

function origin(value: string | null): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

/** The origin of the page the portal is framed in, as the browser says (Chromium, WebKit); null when it cannot tell. */
export function embeddingOrigin(): string | null {
  const ancestors = location.ancestorOrigins;
  return framed && ancestors && ancestors.length > 0 ? ancestors[0] : null;
}

export const isFramed = framed;

let target: string | null = null;

/** Events go to the parent origin the session allows, never to "*", and only when framed. */
export function allowEvents(parent: string | null): void {
  target = framed ? parent : null;
}

export function emit(type: PortalEvent, detail: Record<string, unknown> = {}): void {
  if (target) window.parent.postMessage({ source: "cyclewright-portal", type, detail }, target);
}
