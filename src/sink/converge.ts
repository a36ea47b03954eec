import type { LRP } from "../model/index.ts";
import type { OpiBackend } from "../opi/index.ts";

export type ConvergeAction = "none" | "desire" | "update" | "stop";

/** Same process, same stamp, same scale and routes: nothing to send. */
export function sameDesired(desired: LRP, actual: LRP): boolean {
  return (
    desired.last_updated === actual.last_updated &&
    desired.instances === actual.instances &&
    JSON.stringify(desired.routes) === JSON.stringify(actual.routes)
  );
}

/**
 * Brings one process to its desired state through OPI: desire what is
 * missing, update what differs (scale, routes, stamp), stop what is no
 * longer wanted. Safe to repeat: every step is idempotent.
 */
export async function convergeProcess(
  processGuid: string,
  desired: LRP | null,
  opi: OpiBackend,
  prepare: (lrp: LRP) => Promise<LRP>,
): Promise<ConvergeAction> {
  const actual = await opi.getLRP(processGuid);
  if (!desired) {
    if (!actual) return "none";
    await opi.stopLRP(processGuid);
    return "stop";
  }
  if (!actual) {
    await opi.desireLRP(await prepare(desired));
    return "desire";
  }
  if (sameDesired(desired, actual)) return "none";
  await opi.updateLRP({
    guid: desired.guid,
    version: desired.version,
    update: { instances: desired.instances, routes: desired.routes, annotation: desired.last_updated },
  });
  return "update";
}
