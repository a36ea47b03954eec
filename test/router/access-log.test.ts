import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { GOROUTER_LINE } from "./gorouter-format.ts";
import { startRouter, startUpstream, target, type RouterHarness } from "./harness.ts";

describe("router: access log", () => {
  let r: RouterHarness;
  let app: Server<unknown>;

  beforeAll(() => {
    r = startRouter();
    app = startUpstream("a");
    r.routes.set("logged.apps.localhost", [target(app, { app_guid: "logged-app", index: 3, instance_guid: "inst-3" })]);
    r.routes.set("broken.apps.localhost", [target(1, { app_guid: "broken-app" })]);
  });
  afterAll(async () => {
    await r.close();
    app.stop(true);
  });

  test("one gorouter-format line per request in the app's log as RTR/0", async () => {
    r.logs.length = 0;
    const res = await r.get("logged.apps.localhost:7080", "/hello?x=1", { method: "POST", body: "12345", headers: { "user-agent": 'curl/8 "quoted"', referer: "http://ref.example/" } });
    const id = res.headers.get("x-vcap-request-id")!;
    const bodyLength = (await res.arrayBuffer()).byteLength;
    expect(r.logs.length).toBe(1);
    const line = r.logs[0]!;
    expect(line.source_id).toBe("logged-app");
    expect(line.source_type).toBe("RTR");
    expect(line.instance_id).toBe("0");
    expect(line.stream).toBe("OUT");
    const m = GOROUTER_LINE.exec(line.message);
    expect(m, line.message).not.toBeNull();
    const g = m!.groups!;
    expect(g.host).toBe("logged.apps.localhost:7080");
    expect(Math.abs(Date.parse(g.time!.replace("+0000", "Z")) - Date.now())).toBeLessThan(60_000);
    expect([g.method, g.uri, g.proto]).toEqual(["POST", "/hello?x=1", "HTTP/1.1"]);
    expect(g.status).toBe("200");
    expect(g.received).toBe("5");
    expect(Number(g.sent)).toBe(bodyLength);
    expect(g.referer).toBe("http://ref.example/");
    expect(g.agent).toBe('curl/8 \\"quoted\\"');
    expect(g.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(g.backend).toBe(`127.0.0.1:${app.port}`);
    expect(g.xff).toBe("127.0.0.1");
    expect(g.xfp).toBe("http");
    expect(g.id).toBe(id);
    expect(Number(g.rt)).toBeGreaterThanOrEqual(0);
    expect([g.app, g.index, g.instance, g.error]).toEqual(["logged-app", "3", "inst-3", "-"]);
  });

  test("a request no instance answered is logged with its status and router error", async () => {
    r.logs.length = 0;
    expect((await r.get("broken.apps.localhost")).status).toBe(502);
    const g = GOROUTER_LINE.exec(r.logs[0]!.message)!.groups!;
    expect(g.status).toBe("502");
    expect(g.app).toBe("broken-app");
    expect(g.error).toBe("endpoint_failure");
  });
});
