import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { describeCf, FIXTURES, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { cleanupTempDirs } from "../support/tmp.ts";

let s: CfSession;
describeCf("real cf CLI: smoke", () => {
  beforeAll(async () => {
    s = await startCfSession();
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("cf push node-hello exits 0 and the app answers through the router", async () => {
    const r = await s.cf(["push", "node-hello", "-p", join(FIXTURES, "node-hello")]);
    console.log(r.out);
    expect(r.code).toBe(0);
    expect((await s.route("node-hello")).status).toBe(200);
  }, 60_000);
});
