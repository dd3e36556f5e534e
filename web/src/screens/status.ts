import type { Cycle } from "../api";

/** Installed but never activated: a Paused cycle that has no schedule yet. */
export const needsSetup = (cycle: Cycle) => cycle.Status === "Paused" && cycle.StartTime === null && cycle.Interval === null && !cycle.RunOnce;
