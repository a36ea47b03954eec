import type { LRP } from "../model/index.ts";

/**
 * Where desired state comes from: the embedded Cloud Controller today, a
 * remote Cloud Controller later. Level-triggered: `desiredLRPs()` is always
 * the whole truth; `onChange` only nudges so changes land at once.
 */
export interface DesiredStateSource {
  /** Every LRP that should run now. */
  desiredLRPs(): LRP[] | Promise<LRP[]>;
  /** The LRP for one process guid, or null when it should not run. */
  desiredLRP(processGuid: string): LRP | null | Promise<LRP | null>;
  /** Listener gets the changed process guids, or nothing when anything may have changed. */
  onChange(listener: (processGuids?: string[]) => void): () => void;
}
