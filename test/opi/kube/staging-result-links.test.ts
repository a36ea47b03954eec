import { afterAll, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readLifecycleResult } from "../../../src/opi/kube/staging-result.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

afterAll(cleanupTempDirs);

// Issue 13, item 3: a staging pod chooses every byte of its result; a link in it must never make the
// appliance read one of its own files (secrets/token-signing.key) into staging_info.yml.
test("a staging result's links are never followed when the appliance reads it", () => {
  const base = tempDir();
  writeFileSync(join(base, "token-signing.key"), "SECRET-KEY");
  const dir = join(base, "result");
  mkdirSync(join(dir, "out"), { recursive: true });
  mkdirSync(join(dir, "droplet", "app"), { recursive: true });
  writeFileSync(join(dir, "out", "exit"), "0\n");
  writeFileSync(join(dir, "out", "chosen"), "0\n");
  writeFileSync(join(dir, "out", "release.yml"), "default_process_types:\n  web: ./run\n");
  symlinkSync(join(base, "token-signing.key"), join(dir, "out", "detect"));
  symlinkSync("../../../token-signing.key", join(dir, "droplet", "app", "Procfile"));
  const r = readLifecycleResult(dir, { buildpacks: [{ name: "binary" } as never], detect: true, startCommand: "" });
  expect(r).not.toBeInstanceOf(Error);
  const info = r as Exclude<typeof r, Error>;
  expect(info.stagingInfo).not.toContain("SECRET-KEY");
  expect(JSON.stringify(info)).not.toContain("SECRET-KEY");
  expect(info.startCommand).toBe("./run");
});
