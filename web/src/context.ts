import { createContext, useContext } from "react";
import type { Api, PortalSession } from "./api";

export type Route =
  | { screen: "marketplace" }
  | { screen: "wizard"; templateId?: string; cycleId?: string; start?: "connect" | "configure" }
  | { screen: "manage"; cycleId?: string };

export interface Portal {
  api: Api;
  session: PortalSession;
  go: (route: Route) => void;
}

export const PortalContext = createContext<Portal | null>(null);

export function usePortal(): Portal {
  const portal = useContext(PortalContext);
  if (!portal) throw new Error("usePortal outside the portal");
  return portal;
}
