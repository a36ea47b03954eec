import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { cleanupTempDirs } from "../support/tmp.ts";

/**
 * Many users on one appliance, with the real cf CLI: users created by the
 * admin (UAA first, then CC), each logged in with their own CF_HOME; two
 * developers in two spaces blind to each other; an auditor refused on every
 * write; cf passwd; cf delete-user.
 */
let admin: CfSession;
let alice: CfSession;
let bob: CfSession;
let carol: CfSession;
const guidOf = async (s: CfSession, app: string) => (await s.ok(["app", app, "--guid"])).stdout.trim();

describeCf("real cf CLI: users, roles and isolation between spaces", () => {
  beforeAll(async () => {
    admin = await startCfSession();
    for (const [u, p] of [["alice", "pw-alice"], ["bob", "pw-bob"], ["carol", "pw-carol"]]) {
      expect((await admin.ok(["create-user", u!, p!])).stdout).toContain(`Creating user ${u}...`);
    }
    await admin.ok(["create-org", "acme"]);
    await admin.ok(["create-space", "a-space", "-o", "acme"]);
    await admin.ok(["create-space", "b-space", "-o", "acme"]);
    await admin.ok(["set-space-role", "alice", "acme", "a-space", "SpaceDeveloper"]);
    await admin.ok(["set-space-role", "bob", "acme", "b-space", "SpaceDeveloper"]);
    await admin.ok(["set-space-role", "carol", "acme", "a-space", "SpaceAuditor"]);
    alice = await admin.as("alice", "pw-alice", { org: "acme", space: "a-space" });
    bob = await admin.as("bob", "pw-bob", { org: "acme", space: "b-space" });
    carol = await admin.as("carol", "pw-carol", { org: "acme", space: "a-space" });
    await alice.ok(["create-app", "app-a"]);
    await bob.ok(["create-app", "app-b"]);
  }, 120_000);
  afterAll(async () => {
    await admin?.stop();
    cleanupTempDirs();
  });

  test("create-user twice says the user exists; org-users and space-users list the roles", async () => {
    expect((await admin.ok(["create-user", "alice", "x"])).out).toContain("User 'alice' already exists.");
    const users = (await admin.ok(["space-users", "acme", "a-space"])).stdout;
    expect(users).toMatch(/SPACE DEVELOPER\s*\n\s*admin \(uaa\)\s*\n\s*alice \(uaa\)/);
    expect(users).toMatch(/SPACE AUDITOR\s*\n\s*carol/);
    expect((await admin.ok(["org-users", "acme", "-a"])).stdout).toMatch(/USERS[\s\S]*alice[\s\S]*bob/);
  }, 60_000);

  test("two developers in two spaces cannot see each other's apps (cf apps, cf app, cf curl by GUID: 404)", async () => {
    const aGuid = await guidOf(alice, "app-a");
    const bGuid = await guidOf(bob, "app-b");
    expect((await alice.ok(["apps"])).stdout).toContain("app-a");
    expect((await alice.ok(["apps"])).stdout).not.toContain("app-b");
    expect((await bob.ok(["apps"])).stdout).not.toContain("app-a");
    expect((await alice.cf(["app", "app-b"])).out).toContain("App 'app-b' not found");
    const curl = await alice.cf(["curl", `/v3/apps/${bGuid}`]);
    expect(JSON.parse(curl.stdout)).toEqual({ errors: [{ code: 10010, title: "CF-ResourceNotFound", detail: "App not found" }] });
    const curlB = await bob.cf(["curl", "-X", "DELETE", `/v3/apps/${aGuid}`]);
    expect(JSON.parse(curlB.stdout).errors[0].detail).toBe("App not found");
    expect((await alice.cf(["target", "-s", "b-space"])).out).toContain("Space 'b-space' not found.");
    await alice.ok(["target", "-o", "acme", "-s", "a-space"]); // a failed target leaves no space targeted
    const listed = JSON.parse((await alice.ok(["curl", "/v3/spaces"])).stdout) as { resources: { name: string }[] };
    expect(listed.resources.map((s) => s.name)).toEqual(["a-space"]);
    // The admin sees both.
    await admin.ok(["target", "-o", "acme", "-s", "b-space"]);
    expect((await admin.ok(["apps"])).stdout).toContain("app-b");
  }, 60_000);

  test("an auditor reads but is refused on every write, and cannot read env vars", async () => {
    expect((await carol.ok(["apps"])).stdout).toContain("app-a");
    expect((await carol.ok(["app", "app-a"])).stdout).toContain("app-a");
    const writes: string[][] = [
      ["create-app", "carol-app"], ["delete", "app-a", "-f"], ["rename", "app-a", "app-z"], ["set-env", "app-a", "K", "V"], ["unset-env", "app-a", "K"],
      ["scale", "app-a", "-i", "2"], ["start", "app-a"], ["restart", "app-a"], ["create-route", "apps.localhost", "--hostname", "carol"],
      ["run-task", "app-a", "--command", "true"], ["set-label", "app", "app-a", "k=v"], ["enable-ssh", "app-a"], ["set-health-check", "app-a", "process"],
      ["create-space", "carol-space"], ["set-space-role", "bob", "acme", "a-space", "SpaceDeveloper"], ["delete-space", "a-space", "-f"],
      ["create-org", "carol-org"], ["create-buildpack", "bp", "/dev/null", "1"], ["enable-feature-flag", "diego_docker"], ["create-shared-domain", "carol.test"],
    ];
    // (cf stop on a stopped app never reaches the API, so it is not in the list.)
    const allowed: string[] = [];
    for (const w of writes) {
      const r = await carol.cf(w);
      if (r.code === 0) allowed.push(`${w.join(" ")}: ${r.out}`);
      else expect(r.out).toMatch(/not authorized|NotAuthorized|You are not authorized|not found|Unauthorized/i);
    }
    expect(allowed).toEqual([]);
    const env = await carol.cf(["env", "app-a"]);
    expect(env.code).not.toBe(0);
    expect(env.out).toContain("You are not authorized to perform the requested action");
    expect((await alice.ok(["env", "app-a"])).stdout).toContain("VCAP_APPLICATION");
  }, 120_000);

  test("unset-space-role takes the space away", async () => {
    await admin.ok(["unset-space-role", "carol", "acme", "a-space", "SpaceAuditor"]);
    expect((await carol.ok(["curl", "/v3/apps"])).stdout).not.toContain("app-a");
  }, 60_000);

  test("cf passwd: the new password logs in, the old one no longer does, and her other sessions end", async () => {
    const other = await admin.as("alice", "pw-alice");
    expect((await other.ok(["curl", "/v3/apps"])).stdout).toContain("app-a");
    const r = await alice.ok(["passwd"], { stdin: "pw-alice\npw-alice-2\npw-alice-2\n" });
    expect(r.out).toContain("Changing password for user alice...");
    const fresh = await admin.as("alice", "pw-alice-2");
    expect((await fresh.ok(["curl", "/v3/apps"])).stdout).toContain("app-a");
    await expect(admin.as("alice", "pw-alice")).rejects.toThrow(/Credentials were rejected|Authentication has failed/);
    expect((await other.cf(["curl", "/v3/apps"])).out).toMatch(/Invalid Auth Token|log in|invalid_token/i);
  }, 60_000);

  test("five bad passwords lock the account: then even the right one is refused", async () => {
    await admin.ok(["create-user", "dave", "pw-dave"]);
    for (let i = 0; i < 5; i++) await expect(admin.as("dave", `wrong-${i}`)).rejects.toThrow(/Credentials were rejected|Authentication has failed/);
    await expect(admin.as("dave", "pw-dave")).rejects.toThrow(/locked|Credentials were rejected|Authentication has failed/);
    // Another user is not affected.
    expect((await (await admin.as("carol", "pw-carol")).cf(["orgs"])).code).toBe(0);
  }, 90_000);

  test("cf delete-user: the user's session dies at once and they cannot log in", async () => {
    await admin.ok(["delete-user", "bob", "-f"]);
    const after = await bob.cf(["curl", "/v3/apps"]);
    expect(after.out).toMatch(/Invalid Auth Token|log in|CF-InvalidAuthToken|invalid_token/i);
    await expect(admin.as("bob", "pw-bob")).rejects.toThrow(/Credentials were rejected|Authentication has failed/);
    expect((await admin.ok(["space-users", "acme", "b-space"])).stdout).not.toContain("bob");
  }, 60_000);
});
