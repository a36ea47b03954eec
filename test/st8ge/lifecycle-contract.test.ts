import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.ts";
import { buildpackCacheKey, createStaging, dropletLaunch, type Staging } from "../../src/st8ge/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { compileBuildpack, finalBuildpack, observations, supplyBuildpack } from "../support/contract-buildpack.ts";
import { memorySink, tempDir, writeTree } from "./support.ts";

// The contract test buildpacks (test/support/contract-buildpack.ts) against
// what Diego's builder (buildpackapplifecycle/buildpackrunner) gives them.
const root = tempDir("st8ge-contract-");
let store: Store;
let staging: Staging;

beforeAll(async () => {
  store = openStore(join(root, "data"));
  staging = createStaging({ store, config: loadConfig({ flags: { dataDir: store.dataDir, staging: { dropletGzipLevel: 1 } } }), logSink: memorySink() });
  await staging.buildpacks.add({ name: "supa" }, supplyBuildpack(join(root, "bp-supa"), "supa"));
  await staging.buildpacks.add({ name: "supb" }, supplyBuildpack(join(root, "bp-supb"), "supb"));
  await staging.buildpacks.add({ name: "contract_final" }, finalBuildpack(join(root, "bp-final")));
  await staging.buildpacks.add({ name: "old_compile" }, compileBuildpack(join(root, "bp-old")));
});
afterAll(() => store.close());

const SERVICES = JSON.stringify({ "elephantsql": [{ name: "db", credentials: { uri: "postgresql://u:p@db.example:5432/d" } }], "other": [{ credentials: { uri: "redis://r" } }] });

async function stage(id: string, buildpacks: string[] | null, app: string) {
  const lines: string[] = [];
  const r = await staging.stager.stage(
    {
      staging_guid: id,
      app_guid: "contract-app",
      app_name: "contract",
      memory_mb: 512,
      stack: "cflinuxfs4",
      environment: { VCAP_SERVICES: SERVICES },
      buildpacks: buildpacks ? buildpacks.map((name) => ({ name, skip_detect: true })) : [],
    },
    { dir: app },
    { subscribers: [(l) => lines.push(`${l.stream} ${l.message}`)] },
  ).result;
  const into = join(root, `droplet-${id}`);
  mkdirSync(into);
  Bun.spawnSync(["tar", "xzf", store.blobs.path(`sha256:${r.droplet_hash}`), "-C", into]);
  const obs = (name: string) => observations(readFileSync(join(into, "app", ".contract", `${name}.txt`), "utf8"));
  return { r, lines, into, obs };
}

describe("the classic lifecycle as Diego's builder provides it", () => {
  const app = writeTree(join(root, "app"), { "index.txt": "x" });

  test("multi-buildpack: supply order, args, deps dirs, caches, env, launch.yml, config.yml, profile.d, staging_info.yml", async () => {
    const { r, lines, into, obs } = await stage("multi-1", ["supa", "supb", "contract_final"], app);
    const a = obs("supply-supa");
    const b = obs("supply-supb");
    // bin/supply <build> <cache> <deps> <index>; every deps/<index> exists before the first buildpack runs.
    expect(a).toMatchObject({ argc: "4", idx: "0", deps_dirs: "0 1 2", cache_exists: "yes", earlier_configs: "0", cache_marker: "none" });
    expect(b).toMatchObject({ argc: "4", idx: "1", earlier_configs: "1", earlier_tools: "tool-supa" });
    // Supply caches: xxhash64 of the buildpack key; the final buildpack's cache is "final".
    expect(a.cache_base).toBe(buildpackCacheKey("supa"));
    expect(a.cache_base).toMatch(/^[0-9a-f]{16}$/);
    const fs = obs("finalsupply-final");
    const fin = obs("finalize-final");
    expect(fs).toMatchObject({ argc: "4", idx: "2", cache_base: "final" });
    expect(fin).toMatchObject({ argc: "5", idx: "2", cache_base: "final", profile_dir_is_sibling: "yes", profile_dir_exists: "yes" });
    // The staging environment.
    for (const o of [a, fin]) {
      expect(o).toMatchObject({ stack: "cflinuxfs4", memory: "512m", app_name: "contract", services: SERVICES, database_url: "postgres://u:p@db.example:5432/d", lang: "en_US.UTF-8" });
    }
    expect(lines).toContain("OUT -----> supa supplied at 0");
    expect(lines.indexOf("OUT -----> supa supplied at 0")).toBeLessThan(lines.indexOf("OUT -----> supb supplied at 1"));
    // Processes: supply launch.yml (worker), the final release (web); staging_info.yml as Diego writes it.
    expect(r.process_types).toEqual({ worker: "echo worker-from-supb", web: "sh contract-run.sh" });
    expect(r.detected_buildpack).toBe("contract_final");
    expect(readFileSync(join(into, "staging_info.yml"), "utf8")).toBe('{"detected_buildpack":"contract_final","start_command":"sh contract-run.sh"}\n');
    for (const d of ["app", "deps", "profile.d", "tmp", "logs"]) expect(Bun.spawnSync(["test", "-d", join(into, d)]).exitCode).toBe(0);
    // The launcher: profile.d (000_multi-supply.sh with $DEPS_DIR, <index>_<file> copies), then the command.
    const l = dropletLaunch(into, r.start_command);
    const run = Bun.spawnSync(l.argv, { cwd: l.cwd, env: { PATH: "/usr/bin:/bin", ...l.env } });
    const out = run.stdout.toString();
    expect(out).toContain("run:deps_dir_set=yes");
    expect(out).toContain("run:tool=tool-supa");
    expect(out).toContain("run:tool=tool-supb");
    expect(out).toContain("run:FROM_PROFILE_SUPA=yes");
    expect(out).toContain("run:FROM_PROFILE_SUPB=yes");
    // The next staging of the app finds each buildpack's own cache again.
    const again = await stage("multi-2", ["supa", "supb", "contract_final"], app);
    expect(again.obs("supply-supa").cache_marker).toBe("supa-0");
    expect(again.obs("supply-supb").cache_marker).toBe("supb-1");
    expect(again.obs("finalsupply-final").cache_marker).toBe("final-2");
  }, 60_000);

  test("ten and more buildpacks: deps indexes are zero-padded to the digits of the count", async () => {
    const { obs } = await stage("pad", [...Array(10).fill("supa"), "contract_final"], app);
    expect(obs("supply-supa").deps_dirs).toBe("00 01 02 03 04 05 06 07 08 09 10");
    expect(obs("finalize-final").idx).toBe("10");
  }, 60_000);

  test("detection: one buildpack at deps index 0; detected_buildpack from config.yml, else the detect output", async () => {
    staging.buildpacks.update("contract_final", { position: 1 });
    const { r, into, obs } = await stage("detect", null, app);
    expect(obs("finalize-final")).toMatchObject({ idx: "0", cache_base: "final" });
    expect(r.detected_buildpack).toBe("contract_final");
    expect(readFileSync(join(into, "staging_info.yml"), "utf8")).toContain('"detected_buildpack":"contract_final"');
    staging.buildpacks.update("old_compile", { position: 1 });
    const old = await stage("detect-old", null, app);
    expect(old.r.detected_buildpack).toBe("old-style");
    expect(readFileSync(join(old.into, "staging_info.yml"), "utf8")).toBe('{"detected_buildpack":"old-style","start_command":"sh -c \\"echo from-procfile\\""}\n');
  }, 60_000);

  test("an old bin/compile buildpack: <build> <cache>, no deps dir, the Procfile over bin/release, the multi-buildpack warning", async () => {
    const { r, lines, obs } = await stage("compile", ["supa", "old_compile"], app);
    expect(obs("compile-old")).toMatchObject({ argc: "2", cache_base: "final", deps_dirs: "0" });
    expect(lines).toContain("ERR Warning: the last buildpack is not compatible with multi-buildpack apps and cannot make use of any dependencies supplied by the buildpacks specified before it");
    expect(r.process_types.web).toBe('sh -c "echo from-procfile"');
    expect(r.process_types.worker).toBe("echo worker-from-supa");
  }, 60_000);
});
