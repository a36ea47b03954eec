/**
 * Diego's auction as a pure function (DESIGN.md 5). Every eligible cell gets a
 * score for each instance and the lowest wins:
 *
 *   score = mean(memory, disk, container fraction used AFTER placing)
 *         + STARTING_WEIGHT * instances already starting on the cell
 *         + 1000 * instances of the same process already on the cell
 *         + binPackWeight * cell index
 *
 * Eligible = carries every placement tag of the work and (for work without
 * tags) no tags at all, and has room for it. Ties go to the lowest cell index,
 * so the same input always gives the same answer. Work is auctioned largest
 * memory first (as Diego does) so big instances are not starved by small ones.
 * Hot loop works on typed arrays: 100,000 instances x 1,000 cells in well
 * under a second.
 */
import type { CellSpec } from "./cells.ts";

/** A cell and what is already on it. */
export interface CellState extends Omit<CellSpec, "tags"> {
  tags: readonly string[];
  usedMemoryMb: number;
  usedDiskMb: number;
  usedInstances: number;
  /** Instances on this cell not yet RUNNING (Diego's starting containers). */
  starting: number;
  /** process_guid -> instances of it already on this cell. */
  processCounts: ReadonlyMap<string, number>;
}

/** One instance (or task) to place. */
export interface PlacementRequest {
  process_guid: string;
  index: number;
  memory_mb: number;
  disk_mb: number;
  placement_tags: readonly string[];
}

export interface PlacementResult {
  placed: { request: PlacementRequest; cell: string }[];
  /** Work that fits nowhere, with Diego-style reasons ("Insufficient resources: memory"). */
  unplaced: { request: PlacementRequest; error: string }[];
}

export const STARTING_WEIGHT = 0.25;
export const LOCALITY_OFFSET = 1000;

const NO_MEMORY = 1;
const NO_DISK = 2;
const NO_CONTAINERS = 4;

function tagKey(tags: readonly string[]): string {
  return [...new Set(tags)].sort().join("\u0000");
}

function problems(bits: number): string {
  const out: string[] = [];
  if (bits & NO_MEMORY) out.push("memory");
  if (bits & NO_DISK) out.push("disk");
  if (bits & NO_CONTAINERS) out.push("containers");
  return `Insufficient resources: ${out.join(", ")}`;
}

/** Places `requests` on `cells`; never mutates its input. */
export function place(cells: readonly CellState[], requests: readonly PlacementRequest[], binPackWeight = 0): PlacementResult {
  const n = cells.length;
  const totMem = new Float64Array(n);
  const totDisk = new Float64Array(n);
  const totCont = new Float64Array(n);
  const freeMem = new Float64Array(n);
  const freeDisk = new Float64Array(n);
  const freeCont = new Float64Array(n);
  const starting = new Float64Array(n);
  const binPack = new Float64Array(n);
  cells.forEach((c, i) => {
    totMem[i] = Math.max(1, c.memoryMb);
    totDisk[i] = Math.max(1, c.diskMb);
    totCont[i] = Math.max(1, c.maxInstances);
    freeMem[i] = c.memoryMb - c.usedMemoryMb;
    freeDisk[i] = c.diskMb - c.usedDiskMb;
    freeCont[i] = c.maxInstances - c.usedInstances;
    starting[i] = c.starting;
    binPack[i] = binPackWeight * i;
  });

  // Eligible cells per distinct tag set, computed once.
  const eligibleByTags = new Map<string, Int32Array>();
  const eligible = (tags: readonly string[]): Int32Array => {
    const key = tagKey(tags);
    let list = eligibleByTags.get(key);
    if (!list) {
      const want = [...new Set(tags)];
      const ids: number[] = [];
      cells.forEach((c, i) => {
        if (want.length === 0 ? c.tags.length === 0 : want.every((t) => c.tags.includes(t))) ids.push(i);
      });
      list = Int32Array.from(ids);
      eligibleByTags.set(key, list);
    }
    return list;
  };

  // Largest first; then by process and index so the order is total and stable.
  const order = [...requests].sort(
    (a, b) => b.memory_mb - a.memory_mb || b.disk_mb - a.disk_mb || cmp(a.process_guid, b.process_guid) || a.index - b.index,
  );

  const same = new Float64Array(n);
  const touched: number[] = [];
  let current: string | undefined;
  const placed: PlacementResult["placed"] = [];
  const unplaced: PlacementResult["unplaced"] = [];

  for (const req of order) {
    if (req.process_guid !== current) {
      for (const i of touched) same[i] = 0;
      touched.length = 0;
      current = req.process_guid;
      cells.forEach((c, i) => {
        const k = c.processCounts.get(req.process_guid);
        if (k) {
          same[i] = k;
          touched.push(i);
        }
      });
    }
    const list = eligible(req.placement_tags);
    if (list.length === 0) {
      const tags = req.placement_tags.length ? req.placement_tags.join(", ") : "(none)";
      unplaced.push({ request: req, error: `found no compatible cell: no cell carries placement tags ${tags}` });
      continue;
    }
    const m = req.memory_mb;
    const d = req.disk_mb;
    let best = -1;
    let bestScore = Infinity;
    let missing = 0;
    for (let j = 0; j < list.length; j++) {
      const i = list[j]!;
      const fm = freeMem[i]!;
      const fd = freeDisk[i]!;
      const fc = freeCont[i]!;
      if (fm < m || fd < d || fc < 1) {
        missing |= (fm < m ? NO_MEMORY : 0) | (fd < d ? NO_DISK : 0) | (fc < 1 ? NO_CONTAINERS : 0);
        continue;
      }
      const score =
        (1 - (fm - m) / totMem[i]! + (1 - (fd - d) / totDisk[i]!) + (1 - (fc - 1) / totCont[i]!)) / 3 +
        STARTING_WEIGHT * starting[i]! +
        LOCALITY_OFFSET * same[i]! +
        binPack[i]!;
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) {
      unplaced.push({ request: req, error: problems(missing) });
      continue;
    }
    freeMem[best] = freeMem[best]! - m;
    freeDisk[best] = freeDisk[best]! - d;
    freeCont[best] = freeCont[best]! - 1;
    starting[best] = starting[best]! + 1;
    if (same[best] === 0) touched.push(best);
    same[best] = same[best]! + 1;
    placed.push({ request: req, cell: cells[best]!.id });
  }
  return { placed, unplaced };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
