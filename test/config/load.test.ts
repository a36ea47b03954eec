import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, configFromEnv, loadConfig } from "../../src/config/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

describe("loadConfig", () => {
  test("defaults are complete and valid", () => {
    const c = loadConfig({ env: {} });
    expect(c.port).toBe(7080);
    expect(c.host).toBe("127.0.0.1");
    expect(c.logFormat).toBe("text");
    expect(c.cells.count).toBe(1);
    expect(c.router.domain).toBe("apps.localhost");
    expect(c.dataDir.endsWith(".eirini")).toBe(true);
  });

  test("precedence: defaults < file < env < flags", () => {
    const dir = tempDir();
    const file = join(dir, "c.yaml");
    writeFileSync(file, "port: 1111\nlogFormat: json\nhost: 0.0.0.0\ncells:\n  count: 3\n  memoryMb: 2048\n");
    const env = { EIRINI_PORT: "2222", EIRINI_CELLS__COUNT: "5" };
    const c = loadConfig({ file, env, flags: { port: 3333 } });
    expect(c.port).toBe(3333);
    expect(c.cells.count).toBe(5);
    expect(c.cells.memoryMb).toBe(2048);
    expect(c.logFormat).toBe("json");
    expect(c.host).toBe("0.0.0.0");
  });

  test("JSON config files and EIRINI_CONFIG", () => {
    const dir = tempDir();
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ logLevel: "debug" }));
    expect(loadConfig({ env: { EIRINI_CONFIG: file } }).logLevel).toBe("debug");
  });

  test("invalid values name the field", () => {
    expect(() => loadConfig({ env: { EIRINI_PORT: "99999" } })).toThrow(/port/);
    expect(() => loadConfig({ flags: { logFormat: "xml" } })).toThrow(/logFormat/);
    expect(() => loadConfig({ env: { EIRINI_CELLS__COUNT: "0" } })).toThrow(/cells\.count/);
  });

  test("unreadable or malformed files are ConfigErrors naming the file", () => {
    const dir = tempDir();
    expect(() => loadConfig({ file: join(dir, "missing.yaml") })).toThrow(ConfigError);
    expect(() => loadConfig({ file: join(dir, "missing.yaml") })).toThrow(/missing\.yaml cannot be read \(ENOENT\)/);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "port: [1,\n");
    expect(() => loadConfig({ file: bad })).toThrow(/bad\.yaml is not valid YAML/);
    const list = join(dir, "list.yaml");
    writeFileSync(list, "- 1\n- 2\n");
    expect(() => loadConfig({ file: list })).toThrow(/must hold a mapping/);
  });

  test("env parsing keeps strings, reads numbers, booleans and lists", () => {
    expect(configFromEnv({ EIRINI_HOST: "::1", EIRINI_REGISTRY__ANONYMOUS_PULL: "true", EIRINI_CELLS__PLACEMENT_TAGS: '["a"]', OTHER: "x" })).toEqual({
      host: "::1",
      registry: { anonymousPull: true },
      cells: { placementTags: ["a"] },
    });
    expect(configFromEnv({ EIRINI_ADMIN_PASSWORD: "secret" })).toEqual({});
  });
});
