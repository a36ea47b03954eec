import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT } from "../support/appliance-process.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/** The single binary carries everything it needs: migrations, buildpacks, web UI. */
let bin: string;

beforeAll(async () => {
  bin = join(tempDir(), "eirini");
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "--splitting", join(REPO_ROOT, "src/main.ts"), "--outfile", bin], { stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`bun build failed: ${build.stderr.toString()}`);
}, 120_000);

afterAll(cleanupTempDirs);

const run = (args: string[], env: Record<string, string> = {}) => {
  const r = Bun.spawnSync([bin, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};

test("the compiled binary prints help and its version", () => {
  const help = run(["--help"]);
  expect(help.code).toBe(0);
  for (const cmd of ["local", "in-cluster", "version", "push", "stage", "registry"]) expect(help.out).toContain(`  ${cmd} `);
  expect(run(["version"]).out).toMatch(/^eirini \d+\.\d+\.\d+/);
  expect(run(["nonsense"]).code).toBe(2);
});

test("the compiled binary serves readiness, the API root and the embedded web UI, with built-in buildpacks installed", async () => {
  const dir = tempDir();
  const proc = Bun.spawn([bin, "local", "--port", "0", "--data-dir", dir], { stdout: "pipe", stderr: "pipe", env: { ...process.env, EIRINI_ADMIN_PASSWORD: "binary-test" } });
  try {
    let out = "";
    void (async () => {
      for await (const c of proc.stdout) out += new TextDecoder().decode(c);
    })();
    const url = await waitFor(() => /listening on (\S+)/.exec(out)?.[1], { what: "listening line" });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const root = (await (await fetch(`${url}/`)).json()) as { links: { cloud_controller_v3: { href: string } } };
    expect(root.links.cloud_controller_v3.href).toBe(`${url}/v3`);
    expect(await (await fetch(`${url}/ui/`)).text()).toContain("<title>eirini</title>");
    expect((await fetch(`${url}/v2/`)).status).toBe(401);
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }
  const list = run(["buildpacks", "list", "--data-dir", dir]);
  expect(list.code).toBe(0);
  for (const bp of ["binary_buildpack", "python_buildpack", "staticfile_buildpack", "nodejs_buildpack", "go_buildpack", "ruby_buildpack"]) expect(list.out).toContain(bp);
});
