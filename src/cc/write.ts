import type { CcDeps } from "./deps.ts";

/**
 * Runs one change in a single immediate SQLite transaction (one writer;
 * committed before we answer) and only then tells the Sink which apps
 * changed, so a nudge never points at uncommitted state.
 */
export function write<T>(deps: Pick<CcDeps, "db" | "changed">, fn: () => T, changedApps: (result: T) => string[] = () => []): T {
  const result = deps.db.transaction(fn).immediate() as T;
  for (const app_guid of new Set(changedApps(result))) deps.changed({ app_guid });
  return result;
}
