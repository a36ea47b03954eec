import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildOutcome, login, pushUntilBuild, type Api } from "../support/api-client.ts";
import { startEirini, type RunningEirini } from "../support/appliance-process.ts";
import { compiledEirini } from "../support/compiled-binary.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Issue 13, item 8: bounded concurrency against the real binary. 20 pushes at
 * once all stage and run; 50 writes at once to one app all land (or are
 * refused cleanly), none fails inside, and the app ends in a state one of
 * them wrote.
 */
const PASSWORD = "concurrency-pw";
let e: RunningEirini;
let api: Api;
beforeAll(async () => {
  e = await startEirini(["--port", "0", "--data-dir", tempDir()], { EIRINI_BIN: compiledEirini(), EIRINI_ADMIN_PASSWORD: PASSWORD }, 60_000);
  await waitFor(async () => (await fetch(`${e.url}/readyz`)).ok, { what: "readyz" });
  api = await login(e.url, PASSWORD);
}, 120_000);
afterAll(async () => {
  await e?.stop();
  cleanupTempDirs();
});

test("20 parallel pushes all stage and start", async () => {
  const names = Array.from({ length: 20 }, (_, i) => `par-${i}`);
  const pushed = await Promise.all(names.map((n) => pushUntilBuild(e.url, api, n)));
  const outcomes = await Promise.all(pushed.map((p) => buildOutcome(api, p.build, 90_000)));
  expect(outcomes.map((o) => o.state)).toEqual(names.map(() => "STAGED"));
  await Promise.all(
    pushed.map(async (p, i) => {
      await api.json("PATCH", `/v3/apps/${p.app}/relationships/current_droplet`, { data: { guid: outcomes[i]!.droplet } });
      await api.json("POST", `/v3/apps/${p.app}/actions/start`);
    }),
  );
  for (const p of pushed) {
    const web = (await api.json("GET", `/v3/apps/${p.app}/processes`)).resources.find((x: { type: string }) => x.type === "web");
    await waitFor(async () => (await api.json("GET", `/v3/processes/${web.guid}/stats`)).resources[0]?.state === "RUNNING", { timeoutMs: 60_000, what: `${p.app} running` });
  }
  await Promise.all(pushed.map((p) => api.json("POST", `/v3/apps/${p.app}/actions/stop`)));
}, 180_000);

test("50 parallel writes to one app: none fails inside, the last state is one that was written", async () => {
  const { app } = await pushUntilBuild(e.url, api, "contended");
  const web = (await api.json("GET", `/v3/apps/${app}/processes`)).resources[0];
  const writes = Array.from({ length: 50 }, (_, i) => {
    switch (i % 5) {
      case 0:
        return api.call("PATCH", `/v3/apps/${app}/environment_variables`, { var: { [`K${i}`]: `v${i}`, LAST: `${i}` } });
      case 1:
        return api.call("POST", `/v3/processes/${web.guid}/actions/scale`, { instances: i % 3, memory_in_mb: 32 + i });
      case 2:
        return api.call("PATCH", `/v3/apps/${app}`, { metadata: { labels: { writer: `w${i}` } } });
      case 3:
        return api.call("PATCH", `/v3/processes/${web.guid}`, { command: `./run.sh --n ${i}` });
      default:
        return api.call("GET", `/v3/apps/${app}/env`);
    }
  });
  const statuses = await Promise.all(writes.map(async (w) => (await w).status));
  expect(statuses.filter((s) => s >= 500)).toEqual([]);
  expect(statuses.every((s) => s === 200 || s === 202)).toBe(true);
  const env = (await api.json("GET", `/v3/apps/${app}/environment_variables`)).var as Record<string, string>;
  for (let i = 0; i < 50; i += 5) expect(env[`K${i}`]).toBe(`v${i}`);
  const proc = await api.json("GET", `/v3/processes/${web.guid}`);
  expect(proc.command).toMatch(/^\.\/run\.sh --n \d+$/);
  expect(Array.from({ length: 10 }, (_, k) => 32 + 5 * k + 1)).toContain(proc.memory_in_mb);
}, 60_000);
