import { expect, test } from "bun:test";
import { LoginPolicy, LoginRefused } from "../../src/store/index.ts";

test("5 failures in 5 minutes lock a user for 5 minutes; older failures do not count", () => {
  let t = 0;
  const p = new LoginPolicy({ now: () => t });
  for (let i = 0; i < 4; i++) p.recordFailure("u");
  t += 5 * 60_000 + 1; // the first four are outside the window now
  p.recordFailure("u");
  expect(p.lockedFor("u")).toBe(0);
  for (let i = 0; i < 4; i++) p.recordFailure("u");
  expect(p.lockedFor("u")).toBe(5 * 60_000);
  expect(() => p.assertNotLocked("u")).toThrow(LoginRefused);
  expect(p.lockedFor("other")).toBe(0);
  t += 5 * 60_000;
  expect(p.lockedFor("u")).toBe(0);
});

test("hashes run at most maxConcurrent at once, clients take turns, a client's queue is capped", async () => {
  const p = new LoginPolicy({ maxConcurrent: 2, maxQueuedPerClient: 4 });
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const gates: (() => void)[] = [];
  const job = (name: string) => () =>
    new Promise<string>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      order.push(name);
      gates.push(() => {
        running--;
        resolve(name);
      });
    });
  const flood = Array.from({ length: 8 }, (_, i) => p.hash("flood", job(`f${i}`)).catch((e: unknown) => (e as Error).name));
  const valid = p.hash("alice", job("alice"));
  // f0 and f1 run, f2..f5 wait, f6 and f7 are refused at once (nothing hashed for them).
  expect(await Promise.all(flood.slice(6))).toEqual(["LoginRefused", "LoginRefused"]);
  expect(order).toEqual(["f0", "f1"]);
  while (gates.length > 0) {
    gates.shift()!();
    await Bun.sleep(1);
  }
  expect(await valid).toBe("alice");
  expect(await Promise.all(flood.slice(0, 6))).toEqual(["f0", "f1", "f2", "f3", "f4", "f5"]);
  expect(peak).toBe(2);
  // Alice's check started as soon as the first flood check finished, not after the whole flood.
  expect(order.indexOf("alice")).toBe(2);
});
