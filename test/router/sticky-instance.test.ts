import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { startRouter, startUpstream, target, type RouterHarness } from "./harness.ts";

/** Sticky sessions (JSESSIONID / __VCAP_ID__) and instance-targeted requests (X-Cf-App-Instance). */
describe("router: sticky sessions and instance-targeted requests", () => {
  let r: RouterHarness;
  const servers: Server<unknown>[] = [];

  beforeAll(() => {
    r = startRouter();
    // Instances that start a Java-style session on /login.
    for (let i = 0; i < 3; i++) {
      servers.push(
        startUpstream(`i${i}`, (req) =>
          new URL(req.url).pathname === "/login" ? new Response("ok", { headers: { "set-cookie": "JSESSIONID=abc123; Path=/; Max-Age=600; Secure; SameSite=Lax", "x-upstream": `i${i}` } }) : undefined,
        ),
      );
    }
    r.routes.set("java.apps.localhost", servers.map((s, i) => target(s, { process_guid: "java-pg", app_guid: "java-app", index: i, instance_guid: `guid-${i}` })));
  });
  afterAll(async () => {
    await r.close();
    for (const s of servers) s.stop(true);
  });

  function vcapCookie(res: Response): string | undefined {
    return res.headers.getSetCookie().find((c) => c.startsWith("__VCAP_ID__="));
  }

  test("an app setting JSESSIONID gets __VCAP_ID__ beside it, and the session sticks to that instance", async () => {
    const login = await r.get("java.apps.localhost", "/login");
    const instance = login.headers.get("x-upstream")!;
    const cookie = vcapCookie(login)!;
    expect(cookie).toBe(`__VCAP_ID__=guid-${instance.slice(1)}; Path=/; HttpOnly; Max-Age=600; Secure; SameSite=Lax`);
    const vcap = cookie.split(";")[0]!;
    for (let i = 0; i < 12; i++) {
      const res = await r.get("java.apps.localhost", "/page", { headers: { cookie: `JSESSIONID=abc123; ${vcap}` } });
      expect(res.headers.get("x-upstream")).toBe(instance);
      expect(vcapCookie(res)).toBeUndefined();
    }
    // Without JSESSIONID the __VCAP_ID__ cookie alone does not stick (gorouter's rule): round-robin again.
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await r.get("java.apps.localhost", "/page", { headers: { cookie: vcap } })).headers.get("x-upstream")!);
    expect(seen.size).toBe(3);
  });

  test("a session whose instance is gone moves to another and gets a new __VCAP_ID__", async () => {
    const res = await r.get("java.apps.localhost", "/page", { headers: { cookie: "JSESSIONID=abc123; __VCAP_ID__=guid-gone" } });
    expect(res.status).toBe(200);
    const cookie = vcapCookie(res)!;
    expect(cookie).toMatch(/^__VCAP_ID__=guid-[012]; Path=\/; HttpOnly$/);
    expect(cookie).toContain(`guid-${res.headers.get("x-upstream")!.slice(1)}`);
  });

  test("X-Cf-App-Instance: APP_GUID:INDEX reaches that instance; malformed or unknown ones get 400", async () => {
    for (let i = 0; i < 6; i++) {
      const res = await r.get("java.apps.localhost", "/", { headers: { "x-cf-app-instance": "java-app:2" } });
      expect(res.headers.get("x-upstream")).toBe("i2");
      const h = ((await res.json()) as { headers: Record<string, string> }).headers;
      expect(h["x-cf-instanceindex"]).toBe("2");
      expect(h["x-cf-instanceid"]).toBe("guid-2");
    }
    const bad = await r.get("java.apps.localhost", "/", { headers: { "x-cf-app-instance": "java-app" } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-cf-routererror")).toBe("invalid_cf_app_instance_header");
    expect(await bad.text()).toBe("400 Bad Request: Invalid X-CF-App-Instance Header\n");
    const missing = await r.get("java.apps.localhost", "/", { headers: { "x-cf-app-instance": "java-app:7" } });
    expect(missing.status).toBe(400);
    expect(missing.headers.get("x-cf-routererror")).toBe("unknown_route");
    expect(await missing.text()).toBe("400 Bad Request: Requested instance ('7') with guid ('java-app') does not exist for route ('java.apps.localhost')\n");
  });
});
