import type { Config } from "../../config/index.ts";

/** A virtual cell's capacity and tags (usage is computed from what is placed on it). */
export interface CellSpec {
  id: string;
  memoryMb: number;
  diskMb: number;
  maxInstances: number;
  tags: string[];
}

/**
 * Cells from the `cells` config section: `count` identical cells, or the
 * explicit `list` (each entry defaulting to the uniform values). A config
 * that can fit nothing (zero memory, say) is allowed: instances then stay
 * UNCLAIMED with a placement error naming the missing resource.
 */
export function cellsFromConfig(c: Config["cells"]): CellSpec[] {
  const base = { memoryMb: c.memoryMb, diskMb: c.diskMb, maxInstances: c.maxInstances, tags: c.placementTags };
  if (c.list.length > 0) {
    return c.list.map((e, i) => ({
      id: e.name ?? `cell-${i}`,
      memoryMb: e.memoryMb ?? base.memoryMb,
      diskMb: e.diskMb ?? base.diskMb,
      maxInstances: e.maxInstances ?? base.maxInstances,
      tags: e.placementTags ?? base.tags,
    }));
  }
  return Array.from({ length: c.count }, (_, i) => ({ id: `cell-${i}`, ...base, tags: [...base.tags] }));
}
