/**
 * Bounded long-polls for the cf CLI's status polls. The CLI polls a build
 * (and then process stats) once right after its request and then every
 * `PollingInterval` (3 s) counted from the end of the previous answer. A GET
 * may wait, up to that same interval, for the state to leave a transient
 * value (STAGING, STARTING); it always answers the state as it really is
 * then. With the bound equal to the CLI's interval the CLI never learns of a
 * change later than it would have without the wait; usually it learns at once.
 */
export const LONG_POLL_MS = 3_000;
const STEP_MS = 15;

/** Resolves once `done()` is true or `boundMs` has passed (or `signal` aborts); never throws for the bound. */
export async function waitUntil(done: () => boolean | Promise<boolean>, boundMs = LONG_POLL_MS, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await done())) {
    if (Date.now() >= deadline || signal?.aborted) return;
    await Bun.sleep(Math.min(STEP_MS, Math.max(0, deadline - Date.now())));
  }
}
