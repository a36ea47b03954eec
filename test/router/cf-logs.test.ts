import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { describeCf, FIXTURES, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { GOROUTER_LINE } from "./gorouter-format.ts";

let s: CfSession;
describeCf("real cf CLI: the router's access log", () => {
  beforeAll(async () => {
    s = await startCfSession();
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("cf logs --recent shows one [RTR/0] line per request in gorouter's format", async () => {
    // The app must run; cf push's own exit code is the CF API's business (test/cf/smoke.test.ts).
    await s.cf(["push", "rtr-app", "-p", join(FIXTURES, "node-hello")]);
    await waitFor(async () => (await s.route("rtr-app", "/")).status === 200, { what: "rtr-app answering through the router", timeoutMs: 60_000 });
    const marker = `/rtr-${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 3; i++) expect((await s.route("rtr-app", `${marker}?i=${i}`, { headers: { "user-agent": "rtr-test" } })).status).toBe(200);
    const lines = await waitFor(
      async () => {
        const r = await s.cf(["logs", "rtr-app", "--recent"]);
        const rtr = r.stdout.split("\n").filter((l) => l.includes("[RTR/0]") && l.includes(marker));
        return rtr.length === 3 ? rtr : null;
      },
      { what: "three RTR lines in cf logs --recent", timeoutMs: 30_000 },
    );
    const uris: string[] = [];
    for (const line of lines) {
      const message = line.slice(line.indexOf("OUT ") + 4);
      const g = GOROUTER_LINE.exec(message)?.groups;
      expect(g, message).toBeDefined();
      expect(g!.host).toBe(`rtr-app.apps.localhost:${s.port}`);
      uris.push(g!.uri!);
      expect(g!.status).toBe("200");
      expect(g!.agent).toBe("rtr-test");
      expect(g!.index).toBe("0");
    }
    expect(uris.sort()).toEqual([0, 1, 2].map((i) => `${marker}?i=${i}`));
  }, 120_000);
});
