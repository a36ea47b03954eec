import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanupTempDirs } from "../support/tmp.ts";
import { ADMIN_PASSWORD, BASE, makeHarness, type Harness } from "./harness.ts";

/** Issue 13, item 5: lockout, refresh-token rotation with reuse detection, logout. */
let h: Harness;
beforeAll(async () => {
  h = await makeHarness();
  await h.store.users.create("carol", "carol-password", ["cloud_controller.read", "cloud_controller.write"]);
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

const token = (form: Record<string, string>) =>
  h.cc.routes.request(`${BASE}/uaa/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
    body: new URLSearchParams(form).toString(),
  });
const password = (username: string, pw: string) => token({ grant_type: "password", username, password: pw });
const refresh = (rt: string) => token({ grant_type: "refresh_token", refresh_token: rt });
const apps = (access: string) => h.req("GET", "/v3/apps", { token: access });

test("5 wrong passwords lock the user: the right one is then refused too, other users are untouched", async () => {
  for (let i = 0; i < 5; i++) expect((await password("carol", `wrong-${i}`)).status).toBe(401);
  const locked = await password("carol", "carol-password");
  expect(locked.status).toBe(401);
  expect(((await locked.json()) as { error_description: string }).error_description).toMatch(/locked/);
  expect((await password("admin", ADMIN_PASSWORD)).status).toBe(200);
});

test("refresh tokens rotate: a used one is refused, and its reuse ends the whole session", async () => {
  const first = (await (await password("admin", ADMIN_PASSWORD)).json()) as { access_token: string; refresh_token: string };
  const second = (await (await refresh(first.refresh_token)).json()) as { access_token: string; refresh_token: string };
  expect(second.refresh_token).not.toBe(first.refresh_token);
  expect((await apps(second.access_token)).status).toBe(200);
  // The first refresh token again: a copy in other hands. Refused, and the session (chain) is revoked.
  const replay = await refresh(first.refresh_token);
  expect(replay.status).toBe(401);
  expect(((await replay.json()) as { error_description: string }).error_description).toMatch(/reused/);
  expect((await refresh(second.refresh_token)).status).toBe(401);
  expect((await apps(second.access_token)).status).toBe(401);
  // Another login is a new session, unaffected.
  const other = (await (await password("admin", ADMIN_PASSWORD)).json()) as { access_token: string };
  expect((await apps(other.access_token)).status).toBe(200);
});

test("logout (RFC 7009 revoke) ends the session: its refresh and access tokens stop working", async () => {
  const s = (await (await password("admin", ADMIN_PASSWORD)).json()) as { access_token: string; refresh_token: string };
  const res = await h.cc.routes.request(`${BASE}/uaa/oauth/revoke`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: s.refresh_token }).toString() });
  expect(res.status).toBe(200);
  expect((await refresh(s.refresh_token)).status).toBe(401);
  expect((await apps(s.access_token)).status).toBe(401);
});

test("a refresh token outlives a restart of the token store (server-side, in SQLite)", async () => {
  const s = (await (await password("admin", ADMIN_PASSWORD)).json()) as { refresh_token: string };
  const { TokenStore } = await import("../../src/store/index.ts");
  const reopened = new TokenStore(h.store.db);
  const jti = JSON.parse(Buffer.from(s.refresh_token.split(".")[1]!, "base64url").toString()).jti as string;
  expect(reopened.use(jti, Math.floor(Date.now() / 1000))).toMatchObject({ ok: true });
});
