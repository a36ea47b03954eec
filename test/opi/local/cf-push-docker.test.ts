import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { ContainerHost } from "../../../src/container/index.ts";
import { describeCf, startCfSession, type CfSession } from "../../support/cf-cli.ts";
import { waitFor } from "../../support/poll.ts";
import { standInStack } from "../../support/stack-rootfs.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { containersUnavailable } from "./container-harness.ts";
import { helloImage } from "./docker-image.ts";

afterAll(cleanupTempDirs);

const image = await helloImage();
const why = (await containersUnavailable()) ?? (!Bun.which("skopeo") ? "skipped: skopeo is not installed" : image.layout ? null : `skipped: no test image (${image.reason})`);
if (why) test.skip(`cf push -o IMAGE into containers: ${why}`, () => {});

// The docker lifecycle on the local backend: skopeo pushes a locally built image into the embedded registry, the real cf CLI pushes it by reference.
describeCf(why ? "cf push -o IMAGE (skipped)" : "cf push -o IMAGE into containers", () => {
  if (why) return;
  let s: CfSession;
  beforeAll(async () => {
    const stack = await standInStack("node");
    s = await startCfSession({ env: { EIRINI_LOCAL__STACK: stack.rootfs!, EIRINI_LOCAL__ISOLATION: "container" } });
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    if (s) {
      const host = new ContainerHost({ stateDir: join(s.dataDir, "opi-local", "containers") });
      for (const id of host.list()) await host.destroy(id).catch(() => {});
      await host.teardownIfIdle().catch(() => {});
    }
  }, 60_000);

  test("an image from the embedded registry runs with its ENTRYPOINT/CMD, user, EXPOSEd port and ENV, routed", async () => {
    const ref = `127.0.0.1:${s.port}/tests/hello:1`;
    const copy = Bun.spawnSync(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", `admin:${s.password}`, `oci:${image.layout}:hello`, `docker://${ref}`], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: s.cfHome } });
    expect(copy.stderr.toString()).toBe("");
    expect(copy.exitCode).toBe(0);
    const push = await s.cf(["push", "hello-docker", "-o", ref, "-m", "64M"], { timeoutMs: 120_000 });
    if (!push.out.includes("Waiting for app hello-docker to start...")) console.log(push.out, s.eirini.stderr().slice(-3000));
    expect(push.out).toContain("Waiting for app hello-docker to start...");
    const res = await waitFor(async () => {
      const r = await s.route("hello-docker");
      return r.status === 200 ? r : null;
    }, { timeoutMs: 30_000, what: "hello-docker through the router" }).catch(async (e) => {
      console.log(push.out, (await s.cf(["events", "hello-docker"])).out, s.eirini.stdout().slice(-3000), s.eirini.stderr().slice(-3000));
      throw e;
    });
    const body = (await res.json()) as { greeting: string; uid: number; args: string[]; env: Record<string, string> };
    expect(body.greeting).toBe("hi-from-cmd");
    expect(body.args).toEqual(["/server", "--greeting", "hi-from-cmd"]);
    expect(body.uid).toBe(1000);
    expect(body.env).toMatchObject({ PORT: "9090", IMAGE_VAR: "from-image" });
    expect(body.env.CF_INSTANCE_INTERNAL_IP).toMatch(/^10\./);
    expect(JSON.parse(body.env.VCAP_APPLICATION!).application_name).toBe("hello-docker");
  }, 200_000);
});
