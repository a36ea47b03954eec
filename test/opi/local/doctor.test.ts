import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, type CliIO } from "../../../src/cli/index.ts";
import { rawTar } from "../../st8ge/support.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";
import { containersUnavailable } from "./container-harness.ts";

afterAll(cleanupTempDirs);

function capture() {
  const out: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => out.push(l), env: {} };
  return { io, out };
}

test("eirini doctor (local): process isolation when asked for, no noise", async () => {
  const dir = tempDir();
  const c = capture();
  expect(await runCli(["doctor", "--data-dir", dir, "--backend", "local", "--config", writeConfig(dir, { local: { isolation: "process" } })], c.io)).toBe(0);
  expect(c.out[0]).toBe("local backend: apps and staging run as plain processes (local.isolation: process): no container isolation");
});

const why = await containersUnavailable();
(why ? test.skip : test)(`eirini doctor (local): which isolation is active and what containers still need${why ? ` (${why})` : ""}`, async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  const missing = capture();
  expect(await runCli(["doctor", "--config", writeConfig(dir, { dataDir: data })], missing.io)).toBe(1);
  const text = missing.out.join("\n");
  expect(text).toContain("local backend: CONTAINERS UNAVAILABLE");
  expect(text).toContain("ok    runc:");
  expect(text).toContain("FAIL  stack: stack cflinuxfs4 not found");
  expect(text).toContain("eirini stack import cflinuxfs4");

  // A stack imported as a rootfs tarball is what containers then use.
  const tar = join(dir, "rootfs.tar");
  await Bun.write(tar, await rawTar([{ name: "bin/", type: "directory" }, { name: "etc/os-release", data: "stand-in\n" }]));
  const imp = capture();
  expect(await runCli(["stack", "import", "cflinuxfs4", tar, "--data-dir", data], imp.io)).toBe(0);
  const ok = capture();
  expect(await runCli(["doctor", "--config", writeConfig(dir, { dataDir: data })], ok.io)).toBe(0);
  expect(ok.out[0]).toBe("local backend: apps, tasks and staging run in containers (runc)");
  expect(ok.out.join("\n")).toContain("ok    stack: imported stack cflinuxfs4 (1 layer(s))");
});

function writeConfig(dir: string, cfg: Record<string, unknown>): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}
