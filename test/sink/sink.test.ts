import { expect, test } from "bun:test";
import { silentLogger } from "../../src/log/index.ts";
import { LRP, type LRPInput } from "../../src/model/index.ts";
import { Sink, type DesiredStateSource } from "../../src/sink/index.ts";
import { MemoryOpi } from "../support/memory-opi.ts";

function lrp(guid: string, over: Partial<LRPInput> = {}): LRP {
  const version = over.version ?? "v1";
  return LRP.parse({
    guid,
    version,
    process_guid: `${guid}-${version}`,
    app_guid: guid,
    app_name: guid,
    instances: 1,
    last_updated: "1",
    lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: "a".repeat(64), start_command: "run" } },
    ...over,
  });
}

class TestSource implements DesiredStateSource {
  desired = new Map<string, LRP>();
  private listeners = new Set<(k?: string[]) => void>();
  set(l: LRP) {
    this.desired.set(l.process_guid, l);
    for (const f of this.listeners) f([l.process_guid]);
  }
  remove(pg: string) {
    this.desired.delete(pg);
    for (const f of this.listeners) f([pg]);
  }
  desiredLRPs() {
    return [...this.desired.values()];
  }
  desiredLRP(pg: string) {
    return this.desired.get(pg) ?? null;
  }
  onChange(l: (k?: string[]) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

function setup() {
  const source = new TestSource();
  const opi = new MemoryOpi();
  const sink = new Sink({ source, opi, logger: silentLogger, fullPassIntervalMs: 3_600_000, concurrency: 4, queue: { backoff: () => 1 } });
  return { source, opi, sink };
}

test("desires what is missing, updates what changed, stops what is gone", async () => {
  const { source, opi, sink } = setup();
  source.desired.set("a-v1", lrp("a"));
  source.desired.set("b-v1", lrp("b"));
  opi.lrps.set("old-v1", lrp("old"));
  expect(await sink.fullPass()).toBe(3);
  await sink.idle();
  expect([...opi.lrps.keys()].sort()).toEqual(["a-v1", "b-v1"]);

  sink.start();
  source.set(lrp("a", { instances: 3, last_updated: "2" }));
  await sink.idle();
  expect(opi.lrps.get("a-v1")!.instances).toBe(3);
  expect(opi.writes()).toContain("update a-v1");

  // A new version replaces the old process.
  source.remove("b-v1");
  source.set(lrp("b", { version: "v2" }));
  await sink.idle();
  expect([...opi.lrps.keys()].sort()).toEqual(["a-v1", "b-v2"]);
  sink.stop();
});

test("a no-op pass sends no writes", async () => {
  const { source, opi, sink } = setup();
  for (let i = 0; i < 50; i++) source.desired.set(`p${i}-v1`, lrp(`p${i}`));
  await sink.fullPass();
  await sink.idle();
  const before = opi.writes().length;
  expect(await sink.fullPass()).toBe(0);
  await sink.idle();
  expect(opi.writes().length).toBe(before);
});

test("a failing backend call is retried until it converges", async () => {
  const { source, opi, sink } = setup();
  source.desired.set("a-v1", lrp("a"));
  opi.failNext = 2;
  await sink.fullPass();
  for (let i = 0; i < 100 && !opi.lrps.has("a-v1"); i++) {
    await sink.idle();
    await Bun.sleep(2);
  }
  expect(opi.lrps.has("a-v1")).toBe(true);
  expect(sink.stats.failures).toBe(2);
});

test("the periodic pass repairs drift a nudge never announced", async () => {
  const { source, opi, sink } = setup();
  source.desired.set("a-v1", lrp("a"));
  await sink.fullPass();
  await sink.idle();
  opi.lrps.delete("a-v1"); // deleted behind our back
  await sink.fullPass();
  await sink.idle();
  expect(opi.lrps.has("a-v1")).toBe(true);
});

test("OPI events are passed on", async () => {
  const { opi, source } = setup();
  const seen: string[] = [];
  const sink = new Sink({ source, opi, logger: silentLogger, fullPassIntervalMs: 3_600_000, concurrency: 1, onEvent: (e) => seen.push(e.type) });
  sink.start();
  opi.emit({ type: "task_completed", task_guid: "t", state: "SUCCEEDED", failed: false, failure_reason: "", at: 1 });
  sink.stop();
  expect(seen).toEqual(["task_completed"]);
});

test("a source with a lean listing (desiredStamps) gets full passes without building whole LRPs", async () => {
  const { source, opi } = setup();
  let whole = 0;
  const lean = Object.assign(source, {
    desiredLRPs: () => {
      whole++;
      return [...source.desired.values()];
    },
    desiredStamps: () => [...source.desired.values()].map((l) => ({ process_guid: l.process_guid, last_updated: l.last_updated })),
  });
  const leanSink = new Sink({ source: lean, opi, logger: silentLogger, fullPassIntervalMs: 3_600_000, concurrency: 4 });
  source.desired.set("a-v1", lrp("a"));
  opi.lrps.set("gone-v1", lrp("gone"));
  expect(await leanSink.fullPass()).toBe(2);
  await leanSink.idle();
  expect([...opi.lrps.keys()]).toEqual(["a-v1"]);
  source.desired.set("a-v1", lrp("a", { instances: 2, last_updated: "2" }));
  expect(await leanSink.fullPass()).toBe(1);
  await leanSink.idle();
  expect(opi.lrps.get("a-v1")!.instances).toBe(2);
  expect(await leanSink.fullPass()).toBe(0);
  expect(whole).toBe(0);
});
