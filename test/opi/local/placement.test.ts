import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { place, type CellState, type PlacementRequest } from "../../../src/opi/local/placement.ts";

const TAGS = ["gpu", "edge", "blue"];

const cellArb = fc.record({
  memoryMb: fc.integer({ min: 0, max: 4096 }),
  diskMb: fc.integer({ min: 0, max: 4096 }),
  maxInstances: fc.integer({ min: 0, max: 12 }),
  tags: fc.subarray(TAGS, { maxLength: 2 }),
});
const processArb = fc.record({
  instances: fc.integer({ min: 1, max: 8 }),
  memory_mb: fc.integer({ min: 1, max: 1024 }),
  disk_mb: fc.integer({ min: 1, max: 1024 }),
  placement_tags: fc.subarray(TAGS, { maxLength: 1 }),
});
const inputArb = fc.record({
  cells: fc.array(cellArb, { minLength: 0, maxLength: 12 }),
  processes: fc.array(processArb, { minLength: 0, maxLength: 10 }),
  // Small enough that spreading (1000 per same-process instance) always dominates.
  binPack: fc.double({ min: 0, max: 0.5, noNaN: true }),
});

type Input = { cells: { memoryMb: number; diskMb: number; maxInstances: number; tags: string[] }[]; processes: { instances: number; memory_mb: number; disk_mb: number; placement_tags: string[] }[] };

function build(input: Input) {
  const cells: CellState[] = input.cells.map((c, i) => ({
    id: `cell-${i}`, ...c, usedMemoryMb: 0, usedDiskMb: 0, usedInstances: 0, starting: 0, processCounts: new Map(),
  }));
  const requests: PlacementRequest[] = input.processes.flatMap((p, pi) =>
    Array.from({ length: p.instances }, (_, index) => ({ process_guid: `p${pi}`, index, memory_mb: p.memory_mb, disk_mb: p.disk_mb, placement_tags: p.placement_tags })),
  );
  return { cells, requests };
}

function eligible(cell: CellState, tags: readonly string[]): boolean {
  return tags.length === 0 ? cell.tags.length === 0 : tags.every((t) => cell.tags.includes(t));
}

describe("placement (Diego scoring)", () => {
  test("never over-commits, respects tags, places everything or says why", () => {
    fc.assert(
      fc.property(inputArb, ({ cells: cs, processes, binPack }) => {
        const { cells, requests } = build({ cells: cs, processes });
        const res = place(cells, requests, binPack);
        expect(res.placed.length + res.unplaced.length).toBe(requests.length);
        const byId = new Map(cells.map((c) => [c.id, c]));
        const used = new Map(cells.map((c) => [c.id, { m: 0, d: 0, n: 0 }]));
        for (const { request, cell } of res.placed) {
          const u = used.get(cell)!;
          u.m += request.memory_mb;
          u.d += request.disk_mb;
          u.n += 1;
          expect(eligible(byId.get(cell)!, request.placement_tags)).toBe(true);
        }
        for (const c of cells) {
          const u = used.get(c.id)!;
          expect(u.m).toBeLessThanOrEqual(c.memoryMb);
          expect(u.d).toBeLessThanOrEqual(c.diskMb);
          expect(u.n).toBeLessThanOrEqual(c.maxInstances);
        }
        for (const { error } of res.unplaced) expect(error).toMatch(/^(Insufficient resources: |found no compatible cell)/);
      }),
      { numRuns: 300 },
    );
  });

  test("never stacks a process on a cell while an eligible cell with room has none of it", () => {
    fc.assert(
      fc.property(inputArb, ({ cells: cs, processes, binPack }) => {
        const { cells, requests } = build({ cells: cs, processes });
        const res = place(cells, requests, binPack);
        // Replay the placements in auction order and check each decision against the state at that moment.
        const free = new Map(cells.map((c) => [c.id, { m: c.memoryMb, d: c.diskMb, n: c.maxInstances }]));
        const counts = new Map<string, Map<string, number>>();
        for (const { request, cell } of res.placed) {
          const mine = counts.get(request.process_guid) ?? new Map<string, number>();
          counts.set(request.process_guid, mine);
          if ((mine.get(cell) ?? 0) > 0) {
            const emptyWithRoom = cells.some((c) => {
              const f = free.get(c.id)!;
              return eligible(c, request.placement_tags) && !mine.get(c.id) && f.m >= request.memory_mb && f.d >= request.disk_mb && f.n >= 1;
            });
            expect(emptyWithRoom).toBe(false);
          }
          mine.set(cell, (mine.get(cell) ?? 0) + 1);
          const f = free.get(cell)!;
          f.m -= request.memory_mb;
          f.d -= request.disk_mb;
          f.n -= 1;
        }
      }),
      { numRuns: 300 },
    );
  });

  test("deterministic for the same input, whatever the request order", () => {
    fc.assert(
      fc.property(inputArb, fc.integer(), ({ cells: cs, processes, binPack }, seed) => {
        const { cells, requests } = build({ cells: cs, processes });
        const shuffled = [...requests].sort((a, b) => ((a.index * 31 + seed) % 7) - ((b.index * 31 + seed) % 7));
        expect(place(cells, shuffled, binPack)).toEqual(place(cells, requests, binPack));
      }),
      { numRuns: 200 },
    );
  });

  test("names the missing resource and the missing tag", () => {
    const cell: CellState = { id: "c0", memoryMb: 512, diskMb: 4096, maxInstances: 10, tags: [], usedMemoryMb: 0, usedDiskMb: 0, usedInstances: 0, starting: 0, processCounts: new Map() };
    const big = { process_guid: "p", index: 0, memory_mb: 1024, disk_mb: 100, placement_tags: [] };
    expect(place([cell], [big]).unplaced[0]!.error).toBe("Insufficient resources: memory");
    const tagged = { ...big, memory_mb: 1, placement_tags: ["gpu"] };
    expect(place([cell], [tagged]).unplaced[0]!.error).toContain("gpu");
    const full = { ...cell, maxInstances: 1, usedInstances: 1 };
    expect(place([full], [{ ...big, memory_mb: 1 }]).unplaced[0]!.error).toBe("Insufficient resources: containers");
  });

  test("spreads across cells, then balances, and honours existing instances", () => {
    const mk = (id: string, counts: [string, number][] = []): CellState => ({
      id, memoryMb: 4096, diskMb: 4096, maxInstances: 100, tags: [], usedMemoryMb: 0, usedDiskMb: 0, usedInstances: 0, starting: 0, processCounts: new Map(counts),
    });
    const reqs = [0, 1, 2].map((index) => ({ process_guid: "p", index, memory_mb: 256, disk_mb: 256, placement_tags: [] }));
    const res = place([mk("a", [["p", 1]]), mk("b"), mk("c")], reqs);
    const cells = res.placed.map((p) => p.cell).sort();
    expect(cells).toEqual(["a", "b", "c"]);
  });
});
