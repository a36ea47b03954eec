import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startEirini, type RunningEirini } from "../support/appliance-process.ts";
import { compiledEirini } from "../support/compiled-binary.ts";
import { sendHugeBody, watchRss } from "../support/hostile-client.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Issue 13, item 1: no anonymous request can exhaust the appliance. Every
 * body-taking route is hit by 1 GiB bodies (declared and chunked), 20 at a
 * time, against the real compiled binary; its RSS is the judge.
 */
const GIB = 1024 ** 3;
const G = "00000000-0000-0000-0000-000000000000";
const ROUTES: [string, string][] = [
  ["POST", "/uaa/oauth/token"],
  ["POST", "/v2/token"],
  ["POST", "/v3/apps"],
  ["PATCH", `/v3/apps/${G}`],
  ["PATCH", `/v3/apps/${G}/environment_variables`],
  ["POST", "/v3/packages"],
  ["POST", `/v3/packages/${G}/upload`],
  ["POST", "/v3/resource_matches"],
  ["POST", "/v3/builds"],
  ["POST", "/v3/routes"],
  ["POST", `/v3/spaces/${G}/actions/apply_manifest`],
  ["POST", `/v3/apps/${G}/tasks`],
  ["PATCH", `/v3/processes/${G}`],
  ["POST", "/v2/library/app/blobs/uploads/"],
  ["PATCH", `/v2/library/app/blobs/uploads/${G}`],
  ["PUT", "/v2/library/app/manifests/latest"],
  ["PUT", `/kube-staging/${G}/result`],
  ["POST", "/no/such/route"],
  ["POST", "/ui/"],
];

let e: RunningEirini;
beforeAll(async () => {
  e = await startEirini(["--port", "0", "--data-dir", tempDir()], { EIRINI_BIN: compiledEirini(), EIRINI_ADMIN_PASSWORD: "body-limits-pw" }, 60_000);
  await waitFor(async () => (await fetch(`${e.url}/readyz`)).ok, { what: "readyz" });
}, 120_000);
afterAll(async () => {
  await e?.stop();
  cleanupTempDirs();
});

describe("request bodies (real process)", () => {
  test("20 concurrent anonymous 1 GiB bodies on every body-taking route keep RSS under 150 MB", async () => {
    const jobs = ROUTES.flatMap(([method, path]) => [{ method, path, bytes: GIB }, { method, path, bytes: GIB, chunked: true }]);
    const rss = watchRss(e.proc.pid);
    const results: { route: string; status: number; sent: number }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        const r = await sendHugeBody(e.url, job);
        results.push({ route: `${job.method} ${job.path}${job.chunked ? " (chunked)" : ""}`, ...r });
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    rss.stop();
    for (const r of results) {
      // Refused (401/404/413/...) or cut off (the server closed while the client was still sending, so the
      // status line may be lost to the reset), never accepted, never failed inside.
      const refused = (r.status >= 400 && r.status < 500) || (r.status === 0 && r.sent < GIB);
      expect({ route: r.route, refused }).toEqual({ route: r.route, refused: true });
    }
    expect(rss.max()).toBeGreaterThan(0);
    expect(rss.max()).toBeLessThan(150);
    // The appliance still answers.
    expect((await fetch(`${e.url}/v3`)).status).toBe(200);
  }, 120_000);

  test("a declared body over the route's limit is refused before it is read", async () => {
    const r = await sendHugeBody(e.url, { method: "POST", path: "/uaa/oauth/token", bytes: GIB, expectContinue: true, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    // 413, or a close whose status line the reset swallowed (Bun says 100 Continue before the handler runs).
    expect([0, 413]).toContain(r.status);
    // The server answered before the client got far (it did not drain the gigabyte).
    expect(r.sent).toBeLessThan(64 * 1024 ** 2);
  });

  test("a chunked body is counted as it arrives", async () => {
    const r = await sendHugeBody(e.url, { method: "POST", path: "/uaa/oauth/token", bytes: GIB, chunked: true, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    // 413, or a close whose status line the reset swallowed: either way the server stopped reading early.
    expect([0, 413]).toContain(r.status);
    expect(r.sent).toBeLessThan(64 * 1024 ** 2);
  });

  test("duplicate Host headers are refused with 400; unknown Hosts get CF error JSON 404", async () => {
    const raw = async (head: string) => {
      const u = new URL(e.url);
      const sock = await Bun.connect({ hostname: u.hostname, port: Number(u.port), socket: { data(_s, d) { got += d.toString(); } } });
      let got = "";
      sock.write(head);
      await waitFor(() => /\r\n\r\n/.test(got), { what: "response" });
      sock.end();
      return got;
    };
    expect(await raw(`GET /v3 HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n`)).toStartWith("HTTP/1.1 400");
    const rebinding = await fetch(`${e.url}/v3`, { headers: { host: "attacker.example" } });
    expect(rebinding.status).toBe(404);
    expect(((await rebinding.json()) as { errors: { title: string }[] }).errors[0]!.title).toBe("CF-NotFound");
    expect((await fetch(`${e.url}/v3`, { headers: { host: `localhost:${new URL(e.url).port}` } })).status).toBe(200);
    const unknown = await fetch(`${e.url}/no/such/path`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ errors: [{ code: 10000, title: "CF-NotFound", detail: "Unknown request" }] });
  });
});
