/**
 * Placement benchmark: 100,000 instances (10,000 processes, mixed sizes) on
 * 1,000 cells with Diego's scoring. Baseline from the same run: a naive
 * first-fit placer over the same input (no scoring), which shows what the
 * scoring costs. Prints time, spread (max instances of one process on one
 * cell) and balance (spread of cell memory utilisation).
 */
import { place, type CellState, type PlacementRequest } from "../../../src/opi/local/index.ts";
import { printTable } from "../table.ts";

const CELLS = Number(process.env.CELLS ?? 1000);
const PROCESSES = Number(process.env.PROCESSES ?? 10_000);
const SIZES = [64, 128, 256, 512, 1024, 2048];

// Deterministic pseudo-random sizes (mulberry32) so runs compare.
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const cells: CellState[] = Array.from({ length: CELLS }, (_, i) => ({
  id: `cell-${i}`, memoryMb: 256 * 1024, diskMb: 512 * 1024, maxInstances: 250, tags: [],
  usedMemoryMb: 0, usedDiskMb: 0, usedInstances: 0, starting: 0, processCounts: new Map(),
}));
const requests: PlacementRequest[] = [];
// Pairs of processes share 20 instances (10 +- k), so 10,000 processes make exactly 100,000.
let k = 0;
for (let p = 0; p < PROCESSES; p++) {
  if (p % 2 === 0) k = Math.floor(rand() * 9);
  const instances = p % 2 === 0 ? 10 + k : 10 - k;
  const mem = SIZES[Math.floor(rand() * SIZES.length)]!;
  for (let index = 0; index < instances; index++) {
    requests.push({ process_guid: `proc-${p}`, index, memory_mb: mem, disk_mb: mem * 2, placement_tags: [] });
  }
}

function firstFit(cs: CellState[], reqs: PlacementRequest[]) {
  const free = cs.map((c) => ({ m: c.memoryMb, d: c.diskMb, n: c.maxInstances }));
  const out: { request: PlacementRequest; cell: string }[] = [];
  for (const r of reqs) {
    for (let i = 0; i < free.length; i++) {
      const f = free[i]!;
      if (f.m >= r.memory_mb && f.d >= r.disk_mb && f.n >= 1) {
        f.m -= r.memory_mb; f.d -= r.disk_mb; f.n -= 1;
        out.push({ request: r, cell: cs[i]!.id });
        break;
      }
    }
  }
  return out;
}

function stats(placed: { request: PlacementRequest; cell: string }[]) {
  const perProcCell = new Map<string, number>();
  const mem = new Map<string, number>();
  for (const { request, cell } of placed) {
    const k = `${request.process_guid}@${cell}`;
    perProcCell.set(k, (perProcCell.get(k) ?? 0) + 1);
    mem.set(cell, (mem.get(cell) ?? 0) + request.memory_mb);
  }
  const utils = cells.map((c) => (mem.get(c.id) ?? 0) / c.memoryMb);
  const mean = utils.reduce((a, b) => a + b, 0) / utils.length;
  const sd = Math.sqrt(utils.reduce((a, b) => a + (b - mean) ** 2, 0) / utils.length);
  return { maxSame: Math.max(...perProcCell.values()), min: Math.min(...utils), max: Math.max(...utils), sd };
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

// Both placers get the same warm-up and run alternately (which goes first flips each round), and the
// figure is the median of several rounds, so neither side is measured cold while the other is warm.
const ROUNDS = Number(process.env.PLACEMENT_ROUNDS ?? 5);
place(cells.slice(0, 10), requests.slice(0, 1000));
firstFit(cells.slice(0, 10), requests.slice(0, 1000));
const diegoRuns: number[] = [];
const naiveRuns: number[] = [];
let diego!: ReturnType<typeof place>;
let naive!: ReturnType<typeof firstFit>;
for (let round = 0; round < ROUNDS; round++) {
  const runDiego = () => {
    const [r, ms] = timed(() => place(cells, requests, 0));
    diego = r;
    diegoRuns.push(ms);
  };
  const runNaive = () => {
    const [r, ms] = timed(() => firstFit(cells, requests));
    naive = r;
    naiveRuns.push(ms);
  };
  if (round % 2 === 0) {
    runDiego();
    runNaive();
  } else {
    runNaive();
    runDiego();
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const diegoMs = median(diegoRuns);
const naiveMs = median(naiveRuns);
const d = stats(diego.placed);
const n = stats(naive);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
printTable(`placement: median of ${ROUNDS} alternating warm rounds, ${requests.length} instances of ${new Set(requests.map((r) => r.process_guid)).size} processes on ${CELLS} cells`,
  ["placer", "time ms", "placed", "unplaced", "max same-process/cell", "mem util min", "mem util max", "mem util sd"], [
  ["diego scoring", diegoMs.toFixed(0), diego.placed.length, diego.unplaced.length, d.maxSame, pct(d.min), pct(d.max), pct(d.sd)],
  ["baseline: first-fit (no scoring)", naiveMs.toFixed(0), naive.length, requests.length - naive.length, n.maxSame, pct(n.min), pct(n.max), pct(n.sd)],
]);
console.log(`target: diego scoring <= 1000 ms -> ${diegoMs <= 1000 ? "met" : "MISSED"}`);
