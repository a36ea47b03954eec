import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Server } from "bun";
import { waitFor } from "../support/poll.ts";
import { startRouter, startUpstream, target, type RouterHarness } from "./harness.ts";

/**
 * A route's `loadbalancing: least-connection` option, as gorouter honours it:
 * while one instance holds a slow request, new requests go to the instance
 * with fewer in flight; a round-robin route keeps alternating.
 */
let r: RouterHarness;
const apps: Server<unknown>[] = [];
const releases: (() => void)[] = [];
let held = 0;

beforeAll(() => {
  r = startRouter();
  // Each upstream holds `/hold` open until the test lets it go.
  const hold = (req: Request) => {
    if (new URL(req.url).pathname !== "/hold") return undefined;
    held++;
    return new Promise<Response>((res) => releases.push(() => res(new Response("released"))));
  };
  const a = startUpstream("a", hold);
  const b = startUpstream("b", hold);
  apps.push(a, b);
  r.routes.set("lc.apps.localhost", [target(a, { loadbalancing: "least-connection" }), target(b, { loadbalancing: "least-connection" })]);
  r.routes.set("rr.apps.localhost", [target(a), target(b)]);
});
afterAll(async () => {
  for (const f of releases.splice(0)) f();
  await r.close();
  for (const s of apps) s.stop(true);
});

async function whileOneIsHeld(host: string): Promise<string[]> {
  const before = held;
  const slow = r.get(host, "/hold");
  await waitFor(() => held === before + 1, { what: "the slow request to reach an instance" });
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push(((await (await r.get(host, "/")).json()) as { name: string }).name);
  for (const f of releases.splice(0)) f();
  expect(await (await slow).text()).toBe("released");
  return names;
}

test("least-connection: every request goes to the instance not holding one", async () => {
  const names = await whileOneIsHeld("lc.apps.localhost");
  expect(new Set(names).size).toBe(1);
});

test("round-robin (the default): requests alternate regardless", async () => {
  const names = await whileOneIsHeld("rr.apps.localhost");
  expect(new Set(names)).toEqual(new Set(["a", "b"]));
});
