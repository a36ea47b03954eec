import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runEirini, startEirini } from "../support/appliance-process.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

describe("eirini local (real process)", () => {
  test("starts on a free port, answers health and readiness, shuts down gracefully", async () => {
    const dir = tempDir();
    const e = await startEirini(["--port", "0", "--data-dir", dir, "--log-format", "json"], { EIRINI_ADMIN_PASSWORD: "" });
    try {
      expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const ready = await waitFor(async () => (await fetch(`${e.url}/readyz`)).status === 200, { what: "readyz" });
      expect(ready).toBe(true);
      expect(await (await fetch(`${e.url}/healthz`)).json()).toEqual({ status: "ok" });
      const pw = /admin password \(shown once, stored hashed\): (\S+)/.exec(e.stdout())?.[1];
      expect(pw).toBeString();
      expect(e.stderr()).not.toContain(pw!);
      const logLine = e.stderr().split("\n").find((l) => l.includes("appliance ready"))!;
      expect(JSON.parse(logLine)).toMatchObject({ level: "info", msg: "appliance ready" });
      expect(statSync(join(dir, "secrets", "token-signing.key")).mode & 0o777).toBe(0o600);
    } finally {
      expect(await e.stop()).toBe(0);
    }
    expect(e.stderr()).toContain("shutting down");

    // The second start keeps the admin and does not print a password again.
    const again = await startEirini(["--port", "0", "--data-dir", dir]);
    await waitFor(async () => (await fetch(`${again.url}/readyz`)).ok, { what: "readyz" });
    expect(again.stdout()).not.toContain("admin password");
    expect(await again.stop("SIGINT")).toBe(0);
  });

  test("EIRINI_ADMIN_PASSWORD sets the admin password and is never printed", async () => {
    const dir = tempDir();
    const e = await startEirini(["--port", "0", "--data-dir", dir], { EIRINI_ADMIN_PASSWORD: "automation-pw-123" });
    await e.stop();
    expect(e.stdout() + e.stderr()).not.toContain("automation-pw-123");
    const { openStore } = await import("../../src/store/index.ts");
    const store = openStore(dir);
    expect(await store.users.verify("admin", "automation-pw-123")).not.toBeNull();
    store.close();
  });

  test("port in use is one clear line and a non-zero exit", async () => {
    const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x") });
    try {
      const r = await runEirini(["local", "--port", String(blocker.port), "--data-dir", tempDir()]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`eirini local: port ${blocker.port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.stop(true);
    }
  });

  test("corrupt database, unusable data dir, unreadable or invalid config: one line each, non-zero", async () => {
    const corrupt = tempDir();
    writeFileSync(join(corrupt, "eirini.db"), "garbage ".repeat(1000));
    const file = join(tempDir(), "not-a-dir");
    writeFileSync(file, "x");
    const badYaml = join(tempDir(), "bad.yaml");
    writeFileSync(badYaml, "port: [\n");
    const cases: [string[], RegExp][] = [
      [["--data-dir", corrupt], /database .*eirini\.db is corrupt or not an eirini database/],
      [["--data-dir", file], /data directory .* is not a directory/],
      [["--data-dir", join(file, "sub")], /data directory .* cannot be created \(ENOTDIR\)/],
      [["--config", "/nonexistent/eirini.yaml"], /config file \/nonexistent\/eirini\.yaml cannot be read \(ENOENT\)/],
      [["--config", badYaml], /is not valid YAML/],
      [["--log-format", "xml"], /invalid config: logFormat/],
      [["--port", "abc"], /--port must be a whole number/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runEirini(["local", "--port", "0", ...args]);
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines[0]).toMatch(pattern);
      expect(r.stderr).not.toContain("    at ");
    }
  });

  // Each kill lands at a named failpoint the binary honours only under test, so every phase is really hit:
  // before the database exists, mid-way through the migration transaction, with the store open and
  // migrated, after first-start set-up (admin, token key) and with the port bound but no part started.
  const phases = ["start:config-loaded", "store:migrating", "start:store-open", "start:first-start-done", "start:listening"] as const;
  test.each(phases)("kill -9 at %s leaves a data dir the next start opens, admin password intact", async (phase) => {
    const dir = tempDir();
    const marker = join(tempDir(), "reached");
    const env = { ...process.env, EIRINI_ADMIN_PASSWORD: "kill-matrix-pw", EIRINI_TEST_FAILPOINT: phase, EIRINI_TEST_FAILPOINT_FILE: marker };
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "local", "--port", "0", "--data-dir", dir], { stdout: "ignore", stderr: "ignore", env });
    try {
      expect(await waitFor(() => existsSync(marker) && readFileSync(marker, "utf8"), { what: `failpoint ${phase}`, timeoutMs: 20_000 })).toBe(phase);
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    expect(proc.signalCode).toBe("SIGKILL");
    const e = await startEirini(["--port", "0", "--data-dir", dir], { EIRINI_ADMIN_PASSWORD: "kill-matrix-pw" });
    try {
      expect((await fetch(`${e.url}/readyz`)).status).toBe(200);
      const token = await fetch(`${e.url}/uaa/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
        body: "grant_type=password&username=admin&password=kill-matrix-pw",
      });
      expect(token.status).toBe(200);
    } finally {
      expect(await e.stop()).toBe(0);
    }
  }, 60_000);

  test("unknown commands and flags exit 2 with usage", async () => {
    const a = await runEirini(["frobnicate"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("usage: eirini <command>");
    const b = await runEirini(["local", "--nope"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("usage: eirini local");
  });
});
