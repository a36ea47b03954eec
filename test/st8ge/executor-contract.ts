/**
 * The contract every StagingExecutor passes (local now, Kubernetes Job later):
 * run `runExecutorContract(name, make)` from a test file with a factory that
 * builds the executor over a fresh working root.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NO_BUILDPACK_DETECTED, type StagingExecutor, type StagingJob } from "../../src/st8ge/index.ts";
import { waitFor } from "../support/poll.ts";
import { failure, listTree, pidAlive, rawTar, rawZip, shellBuildpack, tempDir, until, writeTree, zipWithTool } from "./support.ts";

const MB = 1024 * 1024;

export interface ContractTarget {
  executor: StagingExecutor;
  /** Where the executor keeps working files; must be empty when no staging runs. */
  workRoot: string;
  /** A directory buildpacks can write to at the same path (containers see only what is mounted in); default: a test temp dir. */
  sharedDir?: string;
  /** Whether a pid a buildpack printed still runs (in a container that pid is in its own PID namespace); default: a host pid. */
  pidAlive?(pid: number): boolean;
}

function tgzEntries(path: string): string[] {
  const r = Bun.spawnSync(["tar", "tzf", path]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return r.stdout.toString().trim().split("\n");
}

function tgzFile(path: string, entry: string): string {
  const r = Bun.spawnSync(["tar", "xzOf", path, entry]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return r.stdout.toString();
}


export function runExecutorContract(name: string, make: () => ContractTarget): void {
  describe(`StagingExecutor contract: ${name}`, () => {
    const base = tempDir("st8ge-contract-");
    let n = 0;
    const fresh = () => join(base, String(++n));

    function appDir(files: Record<string, string> = { "index.txt": "hello\n" }): string {
      return writeTree(fresh(), files);
    }

    function job(t: ContractTarget, over: Partial<StagingJob>): StagingJob {
      return {
        id: `job-${n}`,
        package: { dir: appDir() },
        buildpacks: [],
        detect: true,
        env: { CF_STACK: "cflinuxfs4", MEMORY_LIMIT: "256m", GREETING: "hi there" },
        startCommand: "",
        limits: { timeoutMs: 30_000, memoryBytes: 512 * MB, diskBytes: 256 * MB },
        dropletPath: join(fresh() + ".tgz"),
        ...over,
      };
    }

    const noLines = { onLine: () => {} };

    // Working dirs are removed in the background once a staging is over: the contract is that they go, soon.
    const settled = (t: ContractTarget) => waitFor(() => listTree(t.workRoot).length === 0, { what: "the working dir to be removed" }).catch(() => expect(listTree(t.workRoot)).toEqual([]));

    async function expectClean(t: ContractTarget, j: StagingJob): Promise<void> {
      await settled(t);
      expect(existsSync(j.dropletPath)).toBe(false);
    }

    const finalOnly = () =>
      shellBuildpack(fresh(), {
        detect: 'test -f "$1/Marker" && echo marker-bp 1.2 || exit 1',
        supply: 'echo "supply $4"; echo from-final-supply > "$3/$4/supplied"',
        finalize: 'echo "finalize $4 env=$GREETING stack=$CF_STACK"; echo "final" > "$1/finalized"; echo "export FROM_PROFILE=1" > "$5/final.sh"',
        release: "printf -- '---\\ndefault_process_types:\\n  web: ./run --port $PORT\\n  worker: ./work\\n'",
      });

    test("detect picks the first buildpack that detects; supply, finalize and release make a CF droplet", async () => {
      const t = make();
      const never = shellBuildpack(fresh(), { detect: "exit 1", compile: "exit 9", release: "echo '--- {}'" });
      const j = job(t, { package: { dir: appDir({ Marker: "", "index.txt": "x" }) }, buildpacks: [{ name: "never", source: { dir: never } }, { name: "marker", source: { dir: finalOnly() } }] });
      const lines: string[] = [];
      const out = await t.executor.run(j, { onLine: (s, m) => lines.push(`${s} ${m}`) });
      try {
        expect(out.detectedBuildpack).toBe("marker-bp 1.2");
        expect(out.buildpackName).toBe("marker");
        expect(out.processTypes).toEqual({ web: "./run --port $PORT", worker: "./work" });
        expect(out.startCommand).toBe("./run --port $PORT");
        expect(out.droplet.digest).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(readFileSync(j.dropletPath)).digest("hex")}`);
        expect(out.droplet.size).toBe(readFileSync(j.dropletPath).length);
        expect(lines).toContain("OUT finalize 0 env=hi there stack=cflinuxfs4");
        const entries = tgzEntries(j.dropletPath);
        for (const e of ["./app/", "./deps/", "./profile.d/", "./tmp/", "./logs/", "./staging_info.yml", "./app/finalized", "./app/index.txt", "./deps/0/supplied", "./profile.d/final.sh"]) expect(entries).toContain(e);
        expect(JSON.parse(tgzFile(j.dropletPath, "./staging_info.yml"))).toEqual({ detected_buildpack: "marker-bp 1.2", start_command: "./run --port $PORT" });
      } finally {
        out.dispose();
      }
      await settled(t);
    });

    test("named buildpacks: each but the last supplies, the last finalizes and sees what was supplied", async () => {
      const t = make();
      const supplier = shellBuildpack(fresh(), { supply: 'mkdir -p "$3/$4/bin"; printf "#!/bin/sh\\necho tool\\n" > "$3/$4/bin/tool"; chmod +x "$3/$4/bin/tool"; echo "supplied into $4"' });
      const final = shellBuildpack(fresh(), {
        finalize: 'test -x "$3/0/bin/tool" || { echo "no tool" >&2; exit 3; }; echo "final sees $("$3/0/bin/tool") at index $4"',
        release: "echo '--- {}'",
      });
      const j = job(t, { detect: false, buildpacks: [{ name: "supplier", source: { dir: supplier } }, { name: "final", source: { dir: final } }], startCommand: "./go" });
      const lines: string[] = [];
      const out = await t.executor.run(j, { onLine: (_s, m) => lines.push(m) });
      out.dispose();
      expect(lines).toContain("supplied into 0");
      expect(lines).toContain("final sees tool at index 1");
      expect(out.buildpackName).toBe("final");
      expect(out.detectedBuildpack).toBe("final");
      expect(out.startCommand).toBe("./go");
      expect(tgzEntries(j.dropletPath)).toContain("./deps/0/bin/tool");
    });

    test("an old-style buildpack with bin/compile runs; a Procfile sets the start command", async () => {
      const t = make();
      const old = shellBuildpack(fresh(), { detect: "echo old", compile: 'echo "compile $1 $2" >/dev/null; echo compiled > "$1/compiled"', release: "printf -- '---\\ndefault_process_types:\\n  web: from-release\\n'" });
      const j = job(t, { package: { dir: appDir({ Procfile: "web: ./from-procfile\nclock: ./tick\n" }) }, buildpacks: [{ name: "old", source: { dir: old } }] });
      const out = await t.executor.run(j, noLines);
      out.dispose();
      expect(out.startCommand).toBe("./from-procfile");
      expect(out.processTypes).toEqual({ web: "./from-procfile", clock: "./tick" });
      expect(tgzEntries(j.dropletPath)).toContain("./app/compiled");
    });

    test("stdout and stderr of buildpacks stay apart", async () => {
      const t = make();
      const bp = shellBuildpack(fresh(), { compile: 'echo "to out"; echo "to err" >&2; printf "no newline"', release: "echo '--- {}'" });
      const lines: string[] = [];
      const out = await t.executor.run(job(t, { detect: false, buildpacks: [{ name: "b", source: { dir: bp } }] }), { onLine: (s, m) => lines.push(`${s}:${m}`) });
      out.dispose();
      expect(lines).toContain("OUT:to out");
      expect(lines).toContain("ERR:to err");
      expect(lines).toContain("OUT:no newline");
    });

    test("the cache seeds the run and the new cache comes back", async () => {
      const t = make();
      const bp = shellBuildpack(fresh(), { compile: 'if [ -f "$2/count" ]; then echo "cache hit $(cat "$2/count")"; echo 2 > "$2/count"; else echo "cache miss"; echo 1 > "$2/count"; fi', release: "echo '--- {}'" });
      const seed = fresh();
      const lines: string[] = [];
      const first = await t.executor.run(job(t, { detect: false, buildpacks: [{ name: "c", source: { dir: bp } }] }), { onLine: (_s, m) => lines.push(m) });
      expect(first.cacheDir).not.toBeNull();
      Bun.spawnSync(["cp", "-a", first.cacheDir!, seed]);
      first.dispose();
      const second = await t.executor.run(job(t, { detect: false, buildpacks: [{ name: "c", source: { dir: bp } }], cacheDir: seed }), { onLine: (_s, m) => lines.push(m) });
      second.dispose();
      expect(lines).toContain("cache miss");
      expect(lines).toContain("cache hit 1");
      expect(readFileSync(Bun.spawnSync(["sh", "-c", `ls ${seed}/*/count`]).stdout.toString().trim(), "utf8")).toBe("1\n"); // the seed itself is not modified
    });

    test(`no buildpack detects: "${NO_BUILDPACK_DETECTED}"`, async () => {
      const t = make();
      const j = job(t, { buildpacks: [{ name: "a", source: { dir: shellBuildpack(fresh(), { detect: "exit 1", compile: "true", release: "echo '--- {}'" }) } }] });
      const err = await failure(t.executor.run(j, noLines));
      expect(err.code).toBe("NoAppDetectedError");
      expect(err.message).toBe(NO_BUILDPACK_DETECTED);
      await expectClean(t, j);
    });

    test("a buildpack exiting non-zero fails staging with its exit status", async () => {
      const t = make();
      const j = job(t, { detect: false, buildpacks: [{ name: "broken", source: { dir: shellBuildpack(fresh(), { finalize: 'echo "cannot build" >&2; exit 7', release: "echo '--- {}'" }) } }] });
      const lines: string[] = [];
      const err = await failure(t.executor.run(j, { onLine: (s, m) => lines.push(`${s}:${m}`) }));
      expect(err.code).toBe("BuildpackCompileFailed");
      expect(err.message).toBe("buildpack broken: bin/finalize failed with exit status 7");
      expect(lines).toContain("ERR:cannot build");
      await expectClean(t, j);
    });

    test("a non-final buildpack without bin/supply cannot take part in multi-buildpack staging", async () => {
      const t = make();
      const old = shellBuildpack(fresh(), { compile: "true", release: "echo '--- {}'" });
      const j = job(t, { detect: false, buildpacks: [{ name: "old", source: { dir: old } }, { name: "old2", source: { dir: old } }] });
      const err = await failure(t.executor.run(j, noLines));
      expect(err.code).toBe("BuildpackCompileFailed");
      expect(err.message).toContain("old");
      await expectClean(t, j);
    });

    test("bin/release printing invalid YAML fails staging", async () => {
      const t = make();
      const j = job(t, { detect: false, buildpacks: [{ name: "badrel", source: { dir: shellBuildpack(fresh(), { compile: "true", release: "echo 'default_process_types: [unclosed'" }) } }] });
      const err = await failure(t.executor.run(j, noLines));
      expect(err.code).toBe("BuildpackReleaseFailed");
      expect(err.message).toContain("bin/release printed invalid YAML");
      await expectClean(t, j);
    });

    test("a detect that hangs hits the staging timeout and its whole process group is killed", async () => {
      const t = make();
      const pidFile = t.sharedDir ? join(t.sharedDir, `${n}.pid`) : join(fresh() + ".pid");
      const alive = t.pidAlive ?? pidAlive;
      const hang = shellBuildpack(fresh(), { detect: `sleep 60 & echo $! > ${pidFile}; wait`, compile: "true", release: "echo '--- {}'" });
      const j = job(t, { buildpacks: [{ name: "hang", source: { dir: hang } }], limits: { timeoutMs: 1500, memoryBytes: 512 * MB, diskBytes: 256 * MB } });
      const err = await failure(t.executor.run(j, noLines));
      expect(err.code).toBe("StagingTimeExpired");
      const pid = Number(readFileSync(pidFile, "utf8"));
      await until(() => !alive(pid), 5000, "background sleep to die");
      await expectClean(t, j);
    });

    test("cancel stops a running staging and kills its processes", async () => {
      const t = make();
      const pidFile = t.sharedDir ? join(t.sharedDir, `${n}.pid`) : join(fresh() + ".pid");
      const alive = t.pidAlive ?? pidAlive;
      const slow = shellBuildpack(fresh(), { compile: `sleep 60 & echo $! > ${pidFile}; wait`, release: "echo '--- {}'" });
      const ac = new AbortController();
      const j = job(t, { detect: false, buildpacks: [{ name: "slow", source: { dir: slow } }] });
      const p = t.executor.run(j, { onLine: () => {}, signal: ac.signal });
      await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "", 10_000, "compile to start");
      ac.abort();
      const err = await failure(p);
      expect(err.code).toBe("StagingCancelled");
      await until(() => !alive(Number(readFileSync(pidFile, "utf8"))), 5000, "compile's child to die");
      await expectClean(t, j);
    });

    test("exceeding the memory limit fails staging", async () => {
      const t = make();
      // awk is in every stack (python is not in cflinuxfs4): a 256 MiB string, then it waits.
      const hog = shellBuildpack(fresh(), { compile: "exec awk 'BEGIN { s = \"a\"; for (i = 0; i < 28; i++) s = s s; system(\"sleep 60\") }'", release: "echo '--- {}'" });
      const j = job(t, { detect: false, buildpacks: [{ name: "hog", source: { dir: hog } }], limits: { timeoutMs: 30_000, memoryBytes: 64 * MB, diskBytes: 256 * MB } });
      const err = await failure(t.executor.run(j, noLines));
      expect(err.code).toBe("InsufficientResources");
      expect(err.message).toContain("memory limit of 64 MB");
      await expectClean(t, j);
    });

    test("exceeding the disk limit fails staging", async () => {
      const t = make();
      const filler = shellBuildpack(fresh(), { compile: 'dd if=/dev/zero of="$1/big" bs=1048576 count=40 2>/dev/null; sleep 3', release: "echo '--- {}'" });
      const j = job(t, { detect: false, buildpacks: [{ name: "filler", source: { dir: filler } }], limits: { timeoutMs: 30_000, memoryBytes: 512 * MB, diskBytes: 16 * MB } });
      const err = await failure(t.executor.run(j, noLines));
      expect(err.code).toBe("InsufficientResources");
      expect(err.message).toContain("disk limit of 16 MB");
      await expectClean(t, j);
    });

    test("a real buildpack zip (made by Info-ZIP, exec bits inside) runs unchanged", async () => {
      const t = make();
      const dir = shellBuildpack(fresh(), { detect: "echo zipped", supply: "echo supplying", finalize: 'echo "finalizing with $(basename "$0")"; "$(dirname "$0")/../lib/helper.sh"', release: "echo '--- {}'" });
      writeTree(dir, { "lib/helper.sh": "#!/bin/sh\necho helper ran\n" });
      Bun.spawnSync(["chmod", "+x", join(dir, "lib/helper.sh")]);
      const zip = zipWithTool(dir, fresh() + ".zip");
      const lines: string[] = [];
      const out = await t.executor.run(job(t, { buildpacks: [{ name: "zipped", source: { zip } }] }), { onLine: (_s, m) => lines.push(m) });
      out.dispose();
      expect(lines).toEqual(expect.arrayContaining(["supplying", "finalizing with finalize", "helper ran"]));
    });

    describe("bad packages are refused and leave nothing behind", () => {
      const okBp = () => [{ name: "ok", source: { dir: shellBuildpack(fresh(), { detect: "echo ok", compile: "true", release: "echo '--- {}'" }) } }];
      const cases: Array<[string, () => Promise<Uint8Array> | Uint8Array, string, "zip" | "tar"]> = [
        ["zip entry with ..", () => rawZip([{ name: "ok.txt", data: "x" }, { name: "../escape.txt", data: "x" }]), "leaves the tree", "zip"],
        ["zip entry with an absolute path", () => rawZip([{ name: "/etc/evil", data: "x" }]), "absolute path", "zip"],
        ["zip symlink pointing outside", () => rawZip([{ name: "link", data: "../../../etc", mode: 0o120777 }]), "points outside", "zip"],
        ["zip symlink then a write through it", () => rawZip([{ name: "d", data: ".", mode: 0o120777 }, { name: "d/x", data: "x" }]), "passes through a symlink", "zip"],
        ["zip declaring less than it holds (bomb)", async () => (await import("./support.ts")).lieAboutSize(rawZip([{ name: "bomb", data: "a".repeat(1_000_000) }]), 0, 10), "declares 10 bytes", "zip"],
        ["zip declaring more than the size limit", async () => (await import("./support.ts")).lieAboutSize(rawZip([{ name: "huge", data: "a" }]), 0, 0xfffffff0), "size limit", "zip"],
        ["zip holding more than the size limit", () => rawZip([{ name: "a", data: "a".repeat(3 * MB) }, { name: "b", data: "b".repeat(3 * MB) }]), "size limit", "zip"],
        ["tar entry with ..", () => rawTar([{ name: "../escape.txt", data: "x" }]), "leaves the tree", "tar"],
        ["tar entry with an absolute path", () => rawTar([{ name: "/tmp/evil", data: "x" }]), "absolute path", "tar"],
        ["tar symlink pointing outside", () => rawTar([{ name: "link", type: "symlink", linkname: "/etc/passwd" }]), "absolute path", "tar"],
        ["tar hard link to outside", () => rawTar([{ name: "h", type: "link", linkname: "../../etc/passwd" }]), "leaves the tree", "tar"],
        ["tar device node", () => rawTar([{ name: "dev", type: "character-device" }]), "unsupported type", "tar"],
        ["not an archive at all", () => new TextEncoder().encode("just some text, not a zip"), "not a zip", "zip"],
      ];
      for (const [label, build, reason, kind] of cases) {
        test(label, async () => {
          const t = make();
          const file = `${fresh()}.${kind}`;
          writeFileSync(file, await build());
          const outside = fresh();
          mkdirSync(outside);
          const j = job(t, { package: kind === "zip" ? { zip: file } : { tar: file }, buildpacks: okBp(), limits: { timeoutMs: 30_000, memoryBytes: 512 * MB, diskBytes: 4 * MB } });
          const err = await failure(t.executor.run(j, noLines));
          expect(err.code).toBe("InvalidPackage");
          expect(err.message).toContain(reason);
          await expectClean(t, j);
        });
      }
    });
  });
}
