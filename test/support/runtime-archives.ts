import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Runtime archives for the built-in buildpacks' tests, assembled from this
 * machine's own files (Debian packages, the installed node), never
 * downloaded. Each is a .tgz laid out as the buildpacks expect (`bin/node`,
 * `bin/python3`, `bin/go`, ...), built once per machine and cached outside the
 * repository (like stack-rootfs.ts), so test runs after the first only read it.
 *
 * `runtimeArchive(name)` returns { file, version, sha256 } or null with the
 * reason (the tool is not installed here).
 */
export type RuntimeName = "node" | "python" | "go" | "ruby";

export const RUNTIME_CACHE = process.env.EIRINI_TEST_RUNTIME_CACHE ?? "/var/cache/eirini-test/runtimes";

export interface RuntimeArchive {
  name: RuntimeName;
  version: string;
  file: string;
  sha256: string;
}

function sh(argv: string[], cwd?: string): string {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString().trim()}`);
  return r.stdout.toString().trim();
}

/** Debian's Go tree (/usr/lib/go-1.NN) and python (/usr/bin/python3.NN), whichever version this machine has. */
function realPath(p: string): string | null {
  try {
    return require("node:fs").realpathSync(p) as string;
  } catch {
    return null;
  }
}
const GOROOT = (() => {
  const go = realPath("/usr/bin/go");
  return go ? join(go, "..", "..") : "/usr/lib/go";
})();
const PYTHON = realPath("/usr/bin/python3") ?? "/usr/bin/python3";
const PYVER = PYTHON.replace(/^.*python/, "");

function versionOf(name: RuntimeName): string | null {
  try {
    switch (name) {
      case "node":
        return existsSync("/usr/bin/node") ? sh(["/usr/bin/node", "--version"]).replace(/^v/, "") : null;
      case "python":
        return existsSync(PYTHON) && existsSync("/usr/lib/python3/dist-packages/pip") ? sh([PYTHON, "-c", "import platform; print(platform.python_version())"]) : null;
      case "go":
        return existsSync(join(GOROOT, "bin", "go")) ? sh([join(GOROOT, "bin", "go"), "env", "GOVERSION"]).replace(/^go/, "") : null;
      case "ruby":
        return existsSync("/usr/bin/ruby") ? sh(["/usr/bin/ruby", "-e", "print RUBY_VERSION"]) : null;
    }
  } catch {
    return null;
  }
}

/** Fills `root` with the runtime's tree. */
function assemble(name: RuntimeName, root: string): void {
  const bin = join(root, "bin");
  mkdirSync(bin, { recursive: true });
  switch (name) {
    case "node": {
      // The installed node binary and its npm.
      sh(["cp", "/usr/bin/node", join(bin, "node")]);
      mkdirSync(join(root, "lib", "node_modules"), { recursive: true });
      sh(["cp", "-a", "/usr/lib/node_modules/npm", join(root, "lib", "node_modules", "npm")]);
      symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(bin, "npm"));
      symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(bin, "npx"));
      return;
    }
    case "python": {
      // Debian's python3.NN finds its prefix from where the binary sits: bin/ next to lib/python3.NN.
      const py = `python${PYVER}`;
      sh(["cp", PYTHON, join(bin, py)]);
      symlinkSync(py, join(bin, "python3"));
      symlinkSync(py, join(bin, "python"));
      mkdirSync(join(root, "lib", "python3", "dist-packages"), { recursive: true });
      sh(["tar", "-C", "/usr/lib", `--exclude=${py}/test`, "--exclude=__pycache__", `--exclude=${py}/idlelib`, "-cf", join(root, "stdlib.tar"), py]);
      sh(["tar", "-C", join(root, "lib"), "-xf", join(root, "stdlib.tar")]);
      rmSync(join(root, "stdlib.tar"));
      sh(["cp", "-a", "/usr/lib/python3/dist-packages/pip", join(root, "lib", "python3", "dist-packages", "pip")]);
      // Shared libraries python3.11 links that a minimal stack lacks (the buildpack puts lib/ on LD_LIBRARY_PATH).
      sh(["cp", "-L", "/lib/x86_64-linux-gnu/libexpat.so.1", join(root, "lib", "libexpat.so.1")]);
      return;
    }
    case "go": {
      // Debian's Go tree, with its src symlink resolved; GOROOT follows the binary.
      rmSync(bin, { recursive: true });
      sh(["tar", "-C", GOROOT, "-chf", join(root, "..", "go.tar"), "--exclude=./test", "--exclude=./misc", "--exclude=./api", "--exclude=./src/cmd", "--exclude=./doc", "."]);
      sh(["tar", "-C", root, "-xf", join(root, "..", "go.tar")]);
      rmSync(join(root, "..", "go.tar"));
      return;
    }
    case "ruby":
      throw new Error("ruby runtime archives are not assembled here (Debian's ruby is not relocatable)");
  }
}

const building = new Map<RuntimeName, Promise<RuntimeArchive | { reason: string }>>();

export function runtimeArchive(name: RuntimeName): Promise<RuntimeArchive | { reason: string }> {
  let p = building.get(name);
  if (!p) {
    p = build(name);
    building.set(name, p);
  }
  return p;
}

async function build(name: RuntimeName): Promise<RuntimeArchive | { reason: string }> {
  const version = versionOf(name);
  if (!version) return { reason: `no ${name} on this machine to assemble a runtime archive from` };
  mkdirSync(RUNTIME_CACHE, { recursive: true });
  const file = join(RUNTIME_CACHE, `${name}-${version}-v3.tgz`);
  if (!existsSync(file)) {
    const scratch = mkdtempSync(join(RUNTIME_CACHE, `.${name}-`));
    try {
      const root = join(scratch, "root");
      mkdirSync(root);
      assemble(name, root);
      // Links to the host's absolute paths (Debian's /etc/python3.11/sitecustomize.py) mean nothing on a stack.
      sh(["find", root, "-type", "l", "-lname", "/*", "-delete"]);
      // gzip -1: these are test fixtures; speed over size.
      sh(["sh", "-c", `tar -C "${root}" -cf - . | gzip -1 > "${scratch}/out.tgz"`]);
      renameSync(join(scratch, "out.tgz"), file);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const sha256 = new Bun.CryptoHasher("sha256").update(await Bun.file(file).bytes()).digest("hex");
  return { name, version, file, sha256 };
}

/** An offline archive (tar + CF-style manifest.yml) holding the given runtimes for the given stacks. */
export function offlineArchive(dir: string, runtimes: RuntimeArchive[], stacks: string[]): string {
  const stage = join(dir, `offline-${crypto.randomUUID().slice(0, 8)}`);
  mkdirSync(stage);
  const lines = ["dependencies:"];
  for (const r of runtimes) {
    const f = `${r.name}-${r.version}.tgz`;
    sh(["ln", "-s", r.file, join(stage, f)]);
    lines.push(`- name: ${r.name}`, `  version: "${r.version}"`, `  cf_stacks: [${stacks.join(", ")}]`, `  sha256: ${r.sha256}`, `  file: ${f}`);
  }
  writeFileSync(join(stage, "manifest.yml"), lines.join("\n") + "\n");
  const out = `${stage}.tar`;
  sh(["tar", "-C", stage, "-chf", out, "."]);
  rmSync(stage, { recursive: true, force: true });
  return out;
}
