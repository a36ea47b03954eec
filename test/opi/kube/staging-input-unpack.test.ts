import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareStagingInput } from "../../../src/opi/kube/staging-input.ts";
import { STAGING_POD_SCRIPT } from "../../../src/opi/kube/staging-pod-script.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

/**
 * The staging input as a pod unpacks it: the pod runs as uid 2000, its
 * working dir is an emptyDir the kubelet made root-owned with mode 0777.
 * GNU tar refuses to chmod a directory it does not own (exit 2: "Cannot
 * change mode"), so the archive must not carry a `./` root entry; busybox
 * tar (other stacks) must unpack it too. Both run as uid 2000 here for real.
 */
afterAll(cleanupTempDirs);

const asRoot = process.getuid?.() === 0;
const tars: [string, string[]][] = [
  ["GNU tar", ["tar"]],
  ["busybox tar", ["busybox", "tar"]],
];

async function input(): Promise<string> {
  const dir = tempDir();
  const pkg = join(dir, "pkg");
  mkdirSync(join(pkg, "lib"), { recursive: true });
  writeFileSync(join(pkg, "server.js"), "console.log('hi')\n");
  writeFileSync(join(pkg, "lib", "x.js"), "module.exports = 1\n");
  const bp = join(dir, "bp");
  mkdirSync(join(bp, "bin"), { recursive: true });
  writeFileSync(join(bp, "bin", "detect"), "#!/bin/sh\necho node\n", { mode: 0o755 });
  const out = join(dir, "input.tgz");
  await prepareStagingInput(
    {
      id: "s1",
      package: { dir: pkg },
      buildpacks: [{ name: "node", source: { dir: bp } }],
      detect: true,
      env: {},
      startCommand: "",
      limits: { timeoutMs: 60_000, memoryBytes: 1 << 30, diskBytes: 1 << 30 },
      dropletPath: join(dir, "droplet.tgz"),
    },
    join(dir, "tree"),
    out,
    { maxEntries: 10_000, gzipLevel: 1, onLine: () => {} },
  );
  chmodSync(out, 0o644);
  return out;
}

describe("staging input unpacked as uid 2000 into a root-owned 0777 emptyDir", () => {
  test("has no ./ root entry", async () => {
    const list = Bun.spawnSync(["tar", "-tzf", await input()]);
    const names = new TextDecoder().decode(list.stdout).split("\n").filter(Boolean);
    expect(names).not.toContain("./");
    expect(names).toContain("./droplet/app/server.js");
    expect(names).toContain("./lifecycle.sh");
  });

  for (const [label, cmd] of tars) {
    test(label, async () => {
      if (!asRoot) return void console.log(`skip ${label} as uid 2000: needs root to switch users`);
      if (!Bun.which(cmd[0]!)) return void console.log(`skip ${label}: ${cmd[0]} is not installed (apt-get install busybox)`);
      const archive = await input();
      const volume = tempDir("eirini-emptydir-");
      chownSync(volume, 0, 0);
      chmodSync(volume, 0o777);
      // The pod script's own unpack line, with this tar first on PATH.
      const line = STAGING_POD_SCRIPT.split("\n").find((l) => l.startsWith("tar ") && l.includes("input.tgz"))!;
      expect(line).toBeDefined();
      // What the pod downloaded: a file it owns in the volume.
      copyFileSync(archive, join(volume, "input.tgz"));
      chownSync(join(volume, "input.tgz"), 2000, 2000);
      const bin = tempDir();
      chmodSync(bin, 0o755);
      writeFileSync(join(bin, "tar"), `#!/bin/sh\nexec ${[Bun.which(cmd[0]!)!, ...cmd.slice(1)].join(" ")} "$@"\n`, { mode: 0o755 });
      const die = 'die() { echo "$*" >&2; exit 1; }';
      const script = `${die}\nW=${volume}\n${line}\n`;
      const r = Bun.spawnSync(["setpriv", "--reuid=2000", "--regid=2000", "--clear-groups", "sh", "-c", script], { env: { PATH: `${bin}:/usr/bin:/bin` } });
      expect({ code: r.exitCode, err: new TextDecoder().decode(r.stderr) }).toEqual({ code: 0, err: "" });
      expect(readFileSync(join(volume, "droplet", "app", "server.js"), "utf8")).toContain("hi");
      expect(existsSync(join(volume, "buildpacks", "0", "bin", "detect"))).toBe(true);
      // The volume itself is untouched: still root's, still 0777.
      const st = statSync(volume);
      expect([st.uid, st.mode & 0o7777]).toEqual([0, 0o777]);
      expect(statSync(join(volume, "droplet")).uid).toBe(2000);
    });
  }
});
