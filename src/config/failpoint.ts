import { writeFileSync } from "node:fs";

/**
 * Named points in start-up where a crash test can stop the process exactly.
 * Honoured only under test: when `EIRINI_TEST_FAILPOINT` names this point,
 * the process writes the name to `EIRINI_TEST_FAILPOINT_FILE` and then blocks
 * for good, so the test kills it (-9) at a known phase instead of guessing
 * with timing. Unset (always, outside tests), a failpoint costs one env read.
 */
export type FailpointName =
  | "start:config-loaded"
  | "store:migrating"
  | "start:store-open"
  | "start:first-start-done"
  | "start:listening";

export function failpoint(name: FailpointName, env: Record<string, string | undefined> = process.env): void {
  if (env.EIRINI_TEST_FAILPOINT !== name) return;
  if (env.EIRINI_TEST_FAILPOINT_FILE) writeFileSync(env.EIRINI_TEST_FAILPOINT_FILE, name);
  // Block the thread without a timer or busy loop; only a signal ends the process from here.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
