import type { CcDeps } from "./deps.ts";

/** Effects of the write in progress that must wait for its commit (log lines); null outside a write. */
let pendingEffects: (() => void)[] | null = null;

/**
 * Runs `fn` once the current write has committed (at once outside a write),
 * and never when it rolls back: an `[API/0]` line must not tell of a change
 * that did not happen.
 */
export function afterCommit(fn: () => void): void {
  if (pendingEffects) pendingEffects.push(fn);
  else fn();
}

/**
 * Runs one change in a single immediate SQLite transaction (one writer;
 * committed before we answer) and only then tells the Sink which apps
 * changed, so a nudge never points at uncommitted state.
 */
export function write<T>(deps: Pick<CcDeps, "db" | "changed">, fn: () => T, changedApps: (result: T) => string[] = () => []): T {
  // A write inside a write joins the outer one (SQLite savepoint); its effects and nudges wait for the outer commit.
  if (pendingEffects) {
    const outer = pendingEffects;
    const nested = deps.db.transaction(fn)() as T;
    outer.push(() => {
      for (const app_guid of new Set(changedApps(nested))) deps.changed({ app_guid });
    });
    return nested;
  }
  const effects: (() => void)[] = [];
  pendingEffects = effects;
  let result: T;
  try {
    result = deps.db.transaction(fn).immediate() as T;
  } finally {
    pendingEffects = null;
  }
  for (const e of effects) e();
  for (const app_guid of new Set(changedApps(result))) deps.changed({ app_guid });
  return result;
}
