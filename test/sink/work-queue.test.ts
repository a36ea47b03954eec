import { expect, test } from "bun:test";
import { WorkQueue } from "../../src/sink/index.ts";

test("a key added many times before processing is processed once", async () => {
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new WorkQueue(
    async (k) => {
      seen.push(k);
      if (k === "busy") await gate;
    },
    { concurrency: 1 },
  );
  q.add("busy"); // occupies the only worker while the others pile up
  for (let i = 0; i < 5; i++) q.add("a");
  q.add("b");
  q.add("a");
  expect(q.size).toBe(3);
  release();
  await q.idle();
  expect(seen).toEqual(["busy", "a", "b"]);
});

test("a key added while processing runs again afterwards, never concurrently", async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new WorkQueue(
    async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await gate;
      running--;
    },
    { concurrency: 4 },
  );
  q.add("k");
  q.add("k");
  await Bun.sleep(0);
  q.add("k");
  q.add("k");
  release();
  await q.idle();
  await q.idle();
  expect(runs).toBe(2);
  expect(maxRunning).toBe(1);
});

test("concurrency is bounded", async () => {
  let running = 0;
  let max = 0;
  const q = new WorkQueue(
    async () => {
      running++;
      max = Math.max(max, running);
      await Bun.sleep(1);
      running--;
    },
    { concurrency: 3 },
  );
  for (let i = 0; i < 20; i++) q.add(`k${i}`);
  await q.idle();
  expect(max).toBe(3);
});

test("failures retry per key with growing backoff (injected timers)", async () => {
  const timers: { fn: () => void; ms: number }[] = [];
  let attempts = 0;
  const errors: number[] = [];
  const q = new WorkQueue(
    async () => {
      attempts++;
      if (attempts < 4) throw new Error("not yet");
    },
    { concurrency: 1, setTimer: (fn, ms) => timers.push({ fn, ms }), clearTimer: () => {}, onError: (_k, _e, n) => errors.push(n) },
  );
  q.add("x");
  for (let i = 0; i < 3; i++) {
    await q.idle();
    timers.shift()!.fn();
  }
  await q.idle();
  expect(attempts).toBe(4);
  expect(errors).toEqual([1, 2, 3]);
  expect(timers).toEqual([]);
});

test("backoff delays double and cap", async () => {
  const { defaultBackoff } = await import("../../src/sink/index.ts");
  expect([1, 2, 3, 4].map(defaultBackoff)).toEqual([50, 100, 200, 400]);
  expect(defaultBackoff(40)).toBe(30_000);
});
