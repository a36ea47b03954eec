import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startAppliance, type Appliance } from "../../src/cli/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { eiriniCommand } from "../support/appliance-process.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/** Issue 13, item 5: `eirini login` takes the password from stdin (or a prompt), not from argv. */
let appliance: Appliance;
beforeAll(async () => {
  appliance = await startAppliance({ config: loadConfig({ flags: { port: 0, dataDir: tempDir() } }), logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: "stdin-password" } });
});
afterAll(async () => {
  await appliance?.stop();
  cleanupTempDirs();
});

async function loginWithStdin(input: string) {
  const home = tempDir();
  const proc = Bun.spawn([...eiriniCommand(), "login", "--api", appliance.url], { env: { ...process.env, HOME: home, EIRINI_PASSWORD: "" }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  proc.stdin.write(input);
  await proc.stdin.end();
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { out, err, code, config: join(home, ".eirini", "client.json") };
}

test("the password is read from stdin when -p is not given", async () => {
  const ok = await loginWithStdin("stdin-password\n");
  expect(`${ok.code} ${ok.err}`).toBe("0 ");
  expect(ok.out).toContain("logged in");
  expect(existsSync(ok.config)).toBe(true);
  expect(readFileSync(ok.config, "utf8")).not.toContain("stdin-password");
  const bad = await loginWithStdin("wrong\n");
  expect(bad.code).not.toBe(0);
  expect(bad.err).toContain("Bad credentials");
}, 30_000);
