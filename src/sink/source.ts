import type { LRP } from "../model/index.ts";

/** What a full pass compares (Diego's scheduling info): identity and last-updated stamp, no whole LRP. */
export interface DesiredStamp {
  process_guid: string;
  last_updated: string;
}

/**
 * Where desired state comes from: the embedded Cloud Controller today, a
 * remote Cloud Controller later. Level-triggered: `desiredLRPs()` is always
 * the whole truth; `onChange` only nudges so changes land at once.
 */
export interface DesiredStateSource {
  /** Every LRP that should run now. */
  desiredLRPs(): LRP[] | Promise<LRP[]>;
  /**
   * Optional lean form of `desiredLRPs()` for the full pass: the same
   * processes, only guid and stamp. Building 10,000 whole LRPs (env,
   * VCAP_APPLICATION) dominates a no-op pass; the diff needs none of it.
   */
  desiredStamps?(): DesiredStamp[] | Promise<DesiredStamp[]>;
  /** The LRP for one process guid, or null when it should not run. */
  desiredLRP(processGuid: string): LRP | null | Promise<LRP | null>;
  /** Listener gets the changed process guids, or nothing when anything may have changed. */
  onChange(listener: (processGuids?: string[]) => void): () => void;
}
