import { afterAll, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runEirini, startEirini } from "../support/appliance-process.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

const mode = (p: string) => statSync(p).mode & 0o777;

// Issue 13, item 6: whatever exists already, the data dir ends up 0700 and its files 0600.
test("an existing 0755 data dir with a 0644 database and a 0755 secrets dir is made private", async () => {
  const dir = join(tempDir(), "dot-eirini");
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "client.json"), "{}", { mode: 0o644 });
  const first = await startEirini(["--port", "0", "--data-dir", dir], { EIRINI_ADMIN_PASSWORD: "perm-pw" });
  await waitFor(async () => (await fetch(`${first.url}/readyz`)).ok, { what: "readyz" });
  await first.stop();
  // An older version (or a careless hand) left things open.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, "eirini.db"), 0o644);
  chmodSync(join(dir, "secrets"), 0o755);
  chmodSync(join(dir, "secrets", "token-signing.key"), 0o644);
  const again = await startEirini(["--port", "0", "--data-dir", dir]);
  await waitFor(async () => (await fetch(`${again.url}/readyz`)).ok, { what: "readyz" });
  await again.stop();
  expect(mode(dir)).toBe(0o700);
  expect(mode(join(dir, "secrets"))).toBe(0o700);
  expect(mode(join(dir, "secrets", "token-signing.key"))).toBe(0o600);
  for (const f of readdirSync(dir, { withFileTypes: true })) expect({ f: f.name, mode: mode(join(dir, f.name)) }).toEqual({ f: f.name, mode: f.isDirectory() ? 0o700 : 0o600 });
}, 60_000);

test.skipIf(process.getuid?.() !== 0)("a data dir owned by someone else is refused with one line saying what to fix", async () => {
  const dir = join(tempDir(), "theirs");
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 12345, 12345);
  const r = await runEirini(["local", "--port", "0", "--data-dir", dir]);
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]).toContain("belongs to uid 12345");
  expect(lines[0]).toContain("chown");
});
