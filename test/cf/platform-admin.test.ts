import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runEirini } from "../support/appliance-process.ts";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { compiledEirini } from "../support/compiled-binary.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * The platform commands of the cf CLI (v7.3.0) that need no app: orgs,
 * spaces, target, buildpacks, stacks, feature flags, environment variable
 * groups, domains, security groups, services (V2), curl, oauth-token and
 * logout. Each asserts the exit code and reads the effect back.
 */
let s: CfSession;
type List<T> = { resources: T[] };

/** A classic buildpack directory the CLI zips itself (create-buildpack NAME DIR POSITION). */
function buildpackDir(marker: string): string {
  const dir = tempDir("eirini-cf-bp-");
  mkdirSync(join(dir, "bin"));
  const script = (name: string, body: string) => {
    writeFileSync(join(dir, "bin", name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, "bin", name), 0o755);
  };
  script("detect", "exit 1");
  script("compile", `echo ${marker} > "$1/marker.txt"`);
  script("release", "echo '---'; echo 'default_process_types:'; echo '  web: cat marker.txt'");
  return dir;
}

describeCf("real cf CLI: platform commands without apps", () => {
  beforeAll(async () => {
    s = await startCfSession();
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("orgs, org, spaces, space, target", async () => {
    expect((await s.ok(["orgs"])).stdout).toMatch(/^eirini$/m);
    const org = await s.ok(["org", "eirini"]);
    expect(org.stdout).toMatch(/domains:\s+apps\.localhost/);
    expect(org.stdout).toMatch(/quota:\s+default/);
    expect(org.stdout).toMatch(/spaces:\s+dev/);
    expect((await s.ok(["spaces"])).stdout).toMatch(/^dev$/m);
    const space = await s.ok(["space", "dev"]);
    expect(space.stdout).toMatch(/org:\s+eirini/);
    expect(space.stdout).toMatch(/running security groups:/);
    const target = await s.ok(["target"]);
    expect(target.stdout).toMatch(/org:\s+eirini/);
    expect(target.stdout).toMatch(/space:\s+dev/);
    expect((await s.cf(["org", "nope"])).code).toBe(1);
  }, 30_000);

  test("buildpacks lists the built-ins with positions; create, update, rename, delete go through the API", async () => {
    const before = await s.ok(["buildpacks"]);
    // CF's names in CF's order (cf-deployment's: staticfile, ruby, nodejs, go, python, binary).
    for (const [i, name] of ["staticfile_buildpack", "ruby_buildpack", "nodejs_buildpack", "go_buildpack", "python_buildpack", "binary_buildpack"].entries()) {
      expect(before.stdout).toMatch(new RegExp(`^${i + 1}\\s+${name}\\s`, "m"));
    }
    await s.ok(["create-buildpack", "my-bp", buildpackDir("one"), "1"]);
    type Bp = { name: string; position: number; state: string; filename: string; enabled: boolean; locked: boolean; guid: string };
    let bps = (await s.api<List<Bp>>("/v3/buildpacks")).body.resources;
    const mine = bps.find((b) => b.name === "my-bp")!;
    expect(mine).toMatchObject({ position: 1, state: "READY", enabled: true, locked: false });
    expect(mine.filename).toMatch(/\.zip$/);
    expect((await s.ok(["buildpacks"])).stdout).toMatch(/^1\s+my-bp\s/m);

    await s.ok(["update-buildpack", "my-bp", "-i", "3", "--disable"]);
    bps = (await s.api<List<Bp>>("/v3/buildpacks")).body.resources;
    expect(bps.find((b) => b.name === "my-bp")).toMatchObject({ position: 3, enabled: false });
    // Positions stay contiguous from 1.
    expect(bps.map((b) => b.position).sort((a, b) => a - b)).toEqual(bps.map((_, i) => i + 1));

    await s.ok(["update-buildpack", "my-bp", "-p", buildpackDir("two"), "--enable"]);
    await s.ok(["update-buildpack", "my-bp", "--lock"]);
    expect((await s.api<List<Bp>>("/v3/buildpacks?names=my-bp")).body.resources[0]).toMatchObject({ enabled: true, locked: true });
    // A locked buildpack refuses new bits, and nothing changes.
    const refused = await s.cf(["update-buildpack", "my-bp", "-p", buildpackDir("three")]);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/locked/i);
    await s.ok(["update-buildpack", "my-bp", "--unlock"]);

    // cf7 renames with update-buildpack --rename (its rename-buildpack command is gone since v7).
    await s.ok(["update-buildpack", "my-bp", "--rename", "our-bp"]);
    bps = (await s.api<List<Bp>>("/v3/buildpacks")).body.resources;
    expect(bps.some((b) => b.name === "my-bp")).toBe(false);
    expect(bps.find((b) => b.name === "our-bp")?.guid).toBe(mine.guid);

    await s.ok(["delete-buildpack", "our-bp", "-f"]);
    bps = (await s.api<List<Bp>>("/v3/buildpacks")).body.resources;
    expect(bps.some((b) => b.name === "our-bp")).toBe(false);
    expect(bps.map((b) => b.position).sort((a, b) => a - b)).toEqual(bps.map((_, i) => i + 1));

    const dup = await s.cf(["create-buildpack", "staticfile_buildpack", buildpackDir("dup"), "1"]);
    expect(dup.code).toBe(1);
    expect(dup.out).toContain("Buildpack with name 'staticfile_buildpack' already exists");

    // A zip that is no buildpack is refused with CF's error, and nothing is left behind.
    const bad = tempDir("eirini-cf-badbp-");
    writeFileSync(join(bad, "README"), "not a buildpack");
    const r = await s.cf(["create-buildpack", "bad-bp", bad, "1"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/bin\/compile|invalid/i);
  }, 60_000);

  test("stacks and stack: the default stack with a real description and timestamps", async () => {
    const out = (await s.ok(["stacks"])).stdout;
    expect(out).toMatch(/^cflinuxfs4\s+default stack/m);
    expect((await s.ok(["stack", "cflinuxfs4"])).stdout).toMatch(/description:\s+default stack/);
    const stacks = (await s.api<List<{ name: string; created_at: string; default: boolean }>>("/v3/stacks")).body.resources;
    expect(stacks.find((x) => x.name === "cflinuxfs4")?.default).toBe(true);
    for (const st of stacks) expect(Date.parse(st.created_at)).toBeGreaterThan(Date.parse("2020-01-01T00:00:00Z"));
    expect((await s.cf(["stack", "nope"])).code).toBe(1);
  }, 30_000);

  test("a stack imported with `eirini stack import` is listed with its real import time and what it holds", async () => {
    const root = tempDir("eirini-cf-rootfs-");
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc", "os-release"), "ID=tiny\n");
    const tar = join(tempDir("eirini-cf-tar-"), "tiny.tar");
    expect(Bun.spawnSync(["tar", "-cf", tar, "-C", root, "."]).exitCode).toBe(0);
    const before = Date.now() - 2000;
    const imp = await runEirini(["stack", "import", "tinyfs", tar, "--data-dir", s.dataDir], { EIRINI_BIN: compiledEirini() });
    expect(imp.code).toBe(0);
    expect((await s.ok(["stacks"])).stdout).toMatch(/^tinyfs\s+imported root filesystem \(linux\/\w+, 1 layer, [\d.]+ MiB\)$/m);
    expect((await s.ok(["stack", "tinyfs"])).stdout).toMatch(/name:\s+tinyfs/);
    const st = (await s.api<List<{ name: string; created_at: string; updated_at: string; default: boolean }>>("/v3/stacks?names=tinyfs")).body.resources[0]!;
    expect(st.default).toBe(false);
    expect(Date.parse(st.created_at)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  }, 60_000);

  test("feature-flags, feature-flag, enable-feature-flag, disable-feature-flag", async () => {
    const all = (await s.ok(["feature-flags"])).stdout;
    for (const f of ["task_creation", "app_scaling", "diego_docker", "route_creation", "user_org_creation"]) expect(all).toContain(f);
    expect((await s.ok(["feature-flag", "app_scaling"])).stdout).toMatch(/app_scaling\s+enabled/);
    await s.ok(["disable-feature-flag", "app_scaling"]);
    expect((await s.ok(["feature-flag", "app_scaling"])).stdout).toMatch(/app_scaling\s+disabled/);
    expect((await s.api<{ enabled: boolean; updated_at: string | null }>("/v3/feature_flags/app_scaling")).body).toMatchObject({ enabled: false });
    await s.ok(["enable-feature-flag", "app_scaling"]);
    expect((await s.api<{ enabled: boolean }>("/v3/feature_flags/app_scaling")).body.enabled).toBe(true);
    const unknown = await s.cf(["feature-flag", "no_such_flag"]);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/not found/i);
  }, 30_000);

  test("running and staging environment variable groups: set, read, replace", async () => {
    expect((await s.ok(["running-environment-variable-group"])).stdout).toMatch(/No running environment variable group has been set/);
    await s.ok(["set-running-environment-variable-group", '{"GROUP_A":"one","GROUP_B":"two"}']);
    let out = (await s.ok(["running-environment-variable-group"])).stdout;
    expect(out).toMatch(/GROUP_A\s+one/);
    expect(out).toMatch(/GROUP_B\s+two/);
    // set-* replaces the whole group: GROUP_A goes.
    await s.ok(["set-running-environment-variable-group", '{"GROUP_B":"three"}']);
    out = (await s.ok(["running-environment-variable-group"])).stdout;
    expect(out).not.toContain("GROUP_A");
    expect(out).toMatch(/GROUP_B\s+three/);
    await s.ok(["set-staging-environment-variable-group", '{"STAGE_X":"x"}']);
    expect((await s.ok(["staging-environment-variable-group"])).stdout).toMatch(/STAGE_X\s+x/);
    expect((await s.api<{ var: Record<string, string> }>("/v3/environment_variable_groups/staging")).body.var).toEqual({ STAGE_X: "x" });
    // CF's rule: no VCAP_ names; nothing changes.
    expect((await s.cf(["set-staging-environment-variable-group", '{"VCAP_X":"x"}'])).code).toBe(1);
    expect((await s.api<{ var: Record<string, string> }>("/v3/environment_variable_groups/staging")).body.var).toEqual({ STAGE_X: "x" });
  }, 30_000);

  test("domains: create and delete shared and private domains", async () => {
    await s.ok(["create-shared-domain", "shared.example.test"]);
    await s.ok(["create-private-domain", "eirini", "private.example.test"]);
    const out = (await s.ok(["domains"])).stdout;
    expect(out).toMatch(/^shared\.example\.test\s+shared/m);
    expect(out).toMatch(/^private\.example\.test\s+private/m);
    type Domain = { name: string; relationships: { organization: { data: { guid: string } | null } } };
    const domains = (await s.api<List<Domain>>("/v3/domains")).body.resources;
    const orgGuid = (await s.api<List<{ guid: string }>>("/v3/organizations?names=eirini")).body.resources[0]!.guid;
    expect(domains.find((d) => d.name === "private.example.test")?.relationships.organization.data?.guid).toBe(orgGuid);
    expect(domains.find((d) => d.name === "shared.example.test")?.relationships.organization.data).toBeNull();
    // A route on the new domain can be created.
    await s.ok(["create-route", "shared.example.test", "--hostname", "www"]);
    expect((await s.ok(["routes"])).stdout).toContain("shared.example.test");
    expect((await s.cf(["create-shared-domain", "shared.example.test"])).code).toBe(1);

    await s.ok(["delete-private-domain", "private.example.test", "-f"]);
    await s.ok(["delete-shared-domain", "shared.example.test", "-f"]);
    const left = (await s.api<List<Domain>>("/v3/domains")).body.resources.map((d) => d.name);
    expect(left).toEqual(["apps.localhost"]);
    // As in CF, the domain's routes went with it.
    expect((await s.ok(["routes"])).stdout).not.toContain("shared.example.test");
  }, 60_000);

  test("security groups, quotas, isolation segments and roles answer as CF does where none exist", async () => {
    expect((await s.ok(["security-groups"])).stdout).toMatch(/No security groups found/);
    expect((await s.ok(["running-security-groups"])).stdout).toMatch(/No global running security groups found/);
    expect((await s.ok(["staging-security-groups"])).stdout).toMatch(/No global staging security groups found/);
    expect((await s.ok(["org-quotas"])).stdout).toMatch(/^default\s+unlimited\s+unlimited/m);
    expect((await s.ok(["org-quota", "default"])).stdout).toMatch(/app instances:\s+unlimited/);
    expect((await s.ok(["space-quotas"])).stdout).toMatch(/No space quotas found/);
    await s.ok(["isolation-segments"]);
    expect((await s.ok(["org-users", "eirini"])).stdout).toMatch(/No ORG MANAGER found/);
    expect((await s.ok(["space-users", "eirini", "dev"])).stdout).toMatch(/No SPACE DEVELOPER found/);
  }, 30_000);

  test("V2: /v2/info answers as CF, cf services lists none, and the registry keeps /v2/", async () => {
    const info = (await fetch(`${s.url}/v2/info`).then((r) => r.json())) as { api_version: string; authorization_endpoint: string };
    expect(info.api_version).toMatch(/^2\./);
    expect(info.authorization_endpoint).toBe(`${s.url}/uaa`);
    expect((await s.ok(["services"])).stdout).toMatch(/No services found/);
    expect((await s.ok(["marketplace"])).stdout).toMatch(/No service offerings found/);
    const reg = await fetch(`${s.url}/v2/`);
    expect(reg.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    // The service commands that need a broker say so in CF's words, and change nothing.
    const create = await s.cf(["create-service", "db", "small", "my-db"]);
    expect(create.code).toBe(1);
    expect(create.out).toContain("Service offering 'db' not found.");
    const show = await s.cf(["service", "my-db"]);
    expect(show.code).toBe(1);
    expect(show.out).toContain("Service instance my-db not found");
    const ups = await s.cf(["create-user-provided-service", "ups", "-p", '{"a":"b"}']);
    expect(ups.code).toBe(1);
    expect(ups.out).toContain("runs no service brokers or user-provided services");
    const unknown = await s.cf(["curl", "/v2/apps"]);
    expect(unknown.stdout).toContain("CF-NotFound");
  }, 30_000);

  test("curl, oauth-token, logout", async () => {
    const curl = await s.ok(["curl", "/v3/organizations"]);
    expect((JSON.parse(curl.stdout) as List<{ name: string }>).resources.map((o) => o.name)).toEqual(["eirini"]);
    const token = (await s.ok(["oauth-token"])).stdout.trim();
    expect(token).toMatch(/^bearer \S+\.\S+\.\S+$/);
    expect((await fetch(`${s.url}/v3/spaces`, { headers: { authorization: token } })).status).toBe(200);
    await s.ok(["logout"]);
    expect((await s.cf(["orgs"])).code).toBe(1);
    await s.ok(["auth", "admin", s.password]);
    await s.ok(["target", "-o", "eirini", "-s", "dev"]);
  }, 30_000);
});
