import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FIXTURES } from "../../support/cf-cli.ts";
import { pushed, RUNTIME_NS, startRuntimeSession, type RuntimeSession } from "../../support/kube/runtime-session.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";

/**
 * `cf push --backend kube` where every pod our backend asks for is run by
 * the real runtime: containerd pulls the stack and droplet images from the
 * embedded registry with the generated pull secret, runc runs them as uid
 * 2000 with a root-owned 0777 emptyDir, each pod in its own network
 * namespace. The staging pod unpacks the input, runs the buildpack and
 * uploads the droplet; the app pod answers HTTP 200, directly and through
 * the router; its output reaches `cf logs`; stopping it ends PID 1 by
 * SIGTERM within 5 s.
 */
let s: RuntimeSession | undefined;

let skip = "";

beforeAll(async () => {
  const r = await startRuntimeSession();
  if ("skip" in r) {
    skip = r.skip;
    console.log(`skip real-runtime pods: ${r.skip}`);
    return;
  }
  s = r;
}, 300_000);

afterAll(async () => {
  await s?.stop();
  cleanupTempDirs();
}, 120_000);

describe("pods run by containerd and runc", () => {
  test("push: the staging pod builds the droplet, the app pod answers 200, logs reach cf logs, scale-down and stop take SIGTERM", async () => {
    if (skip) return;
    const k = s!;
    const push = await k.cf(["push", "node-hello", "-p", `${FIXTURES}/node-hello`, "-m", "256M"], { timeoutMs: 240_000 });
    if (!pushed(push)) console.error(push.out, "\nkubelet failures:", k.kubelet.failures, "\nappliance:", k.eirini.stderr().slice(-4000));
    expect(pushed(push)).toBe(true);

    // The staging pod really ran: its output came from the containers' buildpack run.
    const staging = [...k.kubelet.pods.values()].find((p) => p.name.startsWith("node-hello-stage-"));
    expect(staging).toBeDefined();
    expect(await staging!.pod.exited).toBe(0);
    expect(staging!.pod.output()).toContain("O -----> Node.js");

    // The app pod: image pulled with the pull secret, run as 2000, answering on its pod IP and through the router.
    const app = await waitFor(() => [...k.kubelet.pods.values()].find((p) => !p.termination && p.pod.output().includes("node-hello instance 0 listening")), { what: "app container", timeoutMs: 30_000 });
    const direct = await fetch(`http://${app.netns.podIp}:8080/hello`);
    expect(direct.status).toBe(200);
    expect(await direct.json()).toMatchObject({ message: "hello from node-hello", index: "0", app: "node-hello" });
    const routed = await waitFor(async () => {
      const r = await k.route("node-hello", "/via-router");
      return r.status === 200 ? r : null;
    }, { what: "200 through the router", timeoutMs: 30_000 });
    expect(await routed.json()).toMatchObject({ path: "/via-router" });
    const sts = k.kube.list("statefulsets", RUNTIME_NS)[0]!;
    expect(sts.spec.template.spec.imagePullSecrets).toEqual([{ name: "eirini-registry" }]);

    // App output, followed from the pod log into log-cache.
    const logs = await waitFor(async () => {
      const r = await k.cf(["logs", "node-hello", "--recent"]);
      return /\[APP\/PROC\/WEB\/0\]\s+OUT node-hello instance 0 listening on 8080/.test(r.out) ? r : null;
    }, { what: "app line in cf logs --recent", timeoutMs: 20_000 });
    expect(logs.out.match(/Staging failed/g) ?? []).toEqual([]);

    // A task: its Job's pod runs the droplet with the task launcher; its output is APP/TASK/<name>/0.
    const streaming = k.cfStream(["logs", "node-hello"]);
    await waitFor(() => /Retrieving logs/.test(streaming.output()), { what: "cf logs streaming", timeoutMs: 20_000 });
    await k.ok(["run-task", "node-hello", "--command", "echo task says $CF_INSTANCE_INDEX", "--name", "hello-task"]);
    // Streamed as it happens (cf logs), and kept for later (--recent).
    await waitFor(() => /\[APP\/TASK\/hello-task\/0\]\s+OUT task says 0/.test(streaming.output()), { what: "task line streamed by cf logs", timeoutMs: 60_000 });
    await streaming.stop();
    const taskLogs = await waitFor(async () => {
      const r = await k.cf(["logs", "node-hello", "--recent"]);
      return /\[APP\/TASK\/hello-task\/0\]\s+OUT task says 0/.test(r.out) ? r : null;
    }, { what: "task line in cf logs --recent", timeoutMs: 60_000 });
    expect(taskLogs.out).toContain("hello-task");
    await waitFor(async () => /hello-task\s+SUCCEEDED/.test((await k.cf(["tasks", "node-hello"])).out), { what: "task SUCCEEDED", timeoutMs: 30_000 });

    // Scale to 2 and back to 1: the second pod is deleted and its PID 1 ends by SIGTERM within 5 s too.
    const guid = (await k.ok(["app", "node-hello", "--guid"])).stdout.trim();
    await k.ok(["curl", "-X", "POST", `/v3/apps/${guid}/processes/web/actions/scale`, "-d", JSON.stringify({ instances: 2 })]);
    const second = await waitFor(() => [...k.kubelet.pods.values()].find((p) => !p.termination && p.pod.output().includes("node-hello instance 1 listening")), { what: "instance 1", timeoutMs: 60_000 });
    await k.ok(["curl", "-X", "POST", `/v3/apps/${guid}/processes/web/actions/scale`, "-d", JSON.stringify({ instances: 1 })]);
    const down = await waitFor(() => (second.termination?.exitedAt ? second.termination : null), { what: "instance 1 gone after scale-down", timeoutMs: 30_000 });
    expect(down.exitCode).toBe(143);
    expect(down.exitedAt! - down.signalledAt).toBeLessThan(5_000);

    // cf stop deletes the StatefulSet; the pod gets SIGTERM; PID 1 (the shell init) forwards it to node.
    await k.ok(["stop", "node-hello"]);
    const term = await waitFor(() => (app.termination?.exitedAt ? app.termination : null), { what: "container gone after SIGTERM", timeoutMs: 30_000 });
    expect(term.exitCode).toBe(143);
    expect(term.exitedAt! - term.signalledAt).toBeLessThan(5_000);
  }, 300_000);

  test("an image containerd cannot pull: STARTING with containerd's own error in stats, no crash", async () => {
    if (skip) return;
    const k = s!;
    const token = (await k.ok(["oauth-token"])).stdout.trim();
    const api = async (method: string, path: string, body?: unknown): Promise<any> => {
      const res = await fetch(`${k.url}${path}`, { method, headers: { authorization: token, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
    const space = (await api("GET", "/v3/spaces?names=dev")).resources[0].guid;
    const app = await api("POST", "/v3/apps", { name: "unpullable", relationships: { space: { data: { guid: space } } }, lifecycle: { type: "docker", data: {} } });
    const image = `${new URL(k.url).host}/nowhere/missing:1`;
    const pkg = await api("POST", "/v3/packages", { type: "docker", data: { image }, relationships: { app: { data: { guid: app.guid } } } });
    const build = await api("POST", "/v3/builds", { package: { guid: pkg.guid } });
    const droplet = await waitFor(async () => (await api("GET", `/v3/builds/${build.guid}`)).droplet?.guid as string | undefined, { what: "docker droplet" });
    await api("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet } });
    await api("POST", `/v3/apps/${app.guid}/actions/start`);
    const web = (await api("GET", `/v3/apps/${app.guid}/processes`)).resources[0].guid;
    const stat = await waitFor(async () => {
      const st = (await api("GET", `/v3/processes/${web}/stats`)).resources[0];
      return st.details ? st : null;
    }, { what: "the pull failure in stats", timeoutMs: 60_000 });
    expect(stat.state).toBe("STARTING");
    // containerd's words (the registry refused an anonymous pull), carried through the pod status.
    expect(stat.details).toMatch(/^(ErrImagePull|ImagePullBackOff): .*ctr images pull .*nowhere\/missing:1/);
    expect(stat.details).toMatch(/401|unauthorized|authoriz/i);
    const crashes = await api("GET", `/v3/audit_events?types=audit.app.process.crash&target_guids=${app.guid}`);
    expect(crashes.resources).toEqual([]);
    await api("POST", `/v3/apps/${app.guid}/actions/stop`);
  }, 120_000);
});
