/**
 * Diego's crash-restart policy (DESIGN.md 4): the first crashes restart at
 * once, then the wait starts at 30 s and doubles per crash up to 16 min, and
 * after 200 crashes the instance stays CRASHED. Values are injectable so tests
 * can shrink them.
 */
export interface RestartPolicy {
  immediateRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxCrashes: number;
  /** A crash after this long RUNNING counts as the first again. */
  crashResetMs: number;
}

export const diegoRestartPolicy: RestartPolicy = {
  immediateRestarts: 3,
  backoffBaseMs: 30_000,
  backoffMaxMs: 16 * 60_000,
  maxCrashes: 200,
  crashResetMs: 5 * 60_000,
};

/** Delay before restarting after crash number `crashCount` (1-based); null = give up. */
export function restartDelay(policy: RestartPolicy, crashCount: number): number | null {
  if (crashCount >= policy.maxCrashes) return null;
  if (crashCount <= policy.immediateRestarts) return 0;
  const exp = crashCount - policy.immediateRestarts - 1;
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(exp, 30));
}
