import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { deriveKey, signJwt } from "../../src/auth/index.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import * as S from "./cli-shapes.ts";
import { BASE, makeHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await makeHarness();
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

function tokenRequest(form: Record<string, string>, basic: string | null = "cf:") {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (basic !== null) headers.authorization = `Basic ${btoa(basic)}`;
  return h.cc.routes.request(`${BASE}/uaa/oauth/token`, { method: "POST", headers, body: new URLSearchParams(form).toString() });
}

async function cfError(res: Response) {
  return S.parseAs(S.CfErrors, await res.json()).errors[0]!;
}

describe("UAA token endpoint (api/uaa/auth.go, refresh_token.go, error_converter.go)", () => {
  test("wrong password or unknown user: 401 in UAA's format, no token", async () => {
    for (const form of [{ grant_type: "password", username: "admin", password: "nope" }, { grant_type: "password", username: "ghost", password: "x" }]) {
      const res = await tokenRequest(form);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "unauthorized", error_description: "Bad credentials" });
    }
  });

  test("an unknown client is refused", async () => {
    const res = await tokenRequest({ grant_type: "password", username: "admin", password: "x" }, "evil:secret");
    expect(res.status).toBe(401);
    expect((await res.json()).error).toBe("invalid_client");
  });

  test("refresh_token grant (client_id in the form, as the CLI sends it) gives a working token", async () => {
    const { refresh_token, access_token } = await h.login();
    const res = await tokenRequest({ grant_type: "refresh_token", refresh_token, client_id: "cf", client_secret: "" }, null);
    expect(res.status).toBe(200);
    const fresh = S.parseAs(S.TokenResponse, await res.json());
    expect((await h.req("GET", "/v3/apps", { token: fresh.access_token })).status).toBe(200);
    // An access token is not a refresh token (separate keys).
    const wrong = await tokenRequest({ grant_type: "refresh_token", refresh_token: access_token, client_id: "cf", client_secret: "" }, null);
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error).toBe("invalid_token");
  });

  test("unsupported grant types are a 400", async () => {
    const res = await tokenRequest({ grant_type: "client_credentials" });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("unsupported_grant_type");
  });
});

describe("every /v3 call is authorised (ccv3/errors.go: 401 + CF-InvalidAuthToken makes the CLI refresh)", () => {
  test("no token: 401 CF-NotAuthenticated", async () => {
    const res = await h.req("GET", "/v3/apps", { token: null });
    expect(res.status).toBe(401);
    expect(await cfError(res)).toMatchObject({ code: 10002, title: "CF-NotAuthenticated" });
  });

  test("expired, forged, other-key and registry tokens: 401 CF-InvalidAuthToken, nothing changes", async () => {
    const good = (await h.login()).access_token;
    const [head, body, sig] = good.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, "base64url").toString());
    const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, user_name: "root" })).toString("base64url")}.${sig}`;
    const otherKey = signJwt(claims, deriveKey("another-appliance", "uaa"));
    const registryToken = signJwt(claims, deriveKey("test-token-key", "registry"));
    const appsBefore = h.store.db.query("SELECT COUNT(*) AS n FROM cc_apps").get();
    for (const token of [forged, otherKey, registryToken, "not-a-jwt"]) {
      const res = await h.req("POST", "/v3/apps", { token, body: { name: "sneaky", relationships: { space: { data: { guid: h.spaceGuid() } } } } });
      expect(res.status).toBe(401);
      expect(await cfError(res)).toMatchObject({ code: 1000, title: "CF-InvalidAuthToken" });
    }
    h.advance(2 * 3600 * 1000);
    const expired = await h.req("GET", "/v3/apps", { token: good });
    expect(expired.status).toBe(401);
    expect(await cfError(expired)).toMatchObject({ code: 1000, title: "CF-InvalidAuthToken" });
    expect(h.store.db.query("SELECT COUNT(*) AS n FROM cc_apps").get()).toEqual(appsBefore);
    h.token = (await h.login()).access_token;
  });

  test("a user without Cloud Controller scopes gets 403 CF-NotAuthorized", async () => {
    await h.store.users.create("viewer", "pw-viewer", ["openid"]);
    const { access_token } = await h.login("viewer", "pw-viewer");
    const res = await h.req("GET", "/v3/apps", { token: access_token });
    expect(res.status).toBe(403);
    expect(await cfError(res)).toMatchObject({ code: 10003, title: "CF-NotAuthorized" });
  });

  test("root, /v3, /v3/info, /uaa/login and log-cache info need no token; log-cache reads do", async () => {
    for (const p of ["/", "/v3", "/v3/info", "/uaa/login", "/api/v1/info"]) expect((await h.req("GET", p, { token: null })).status).toBe(200);
    expect((await h.req("GET", "/api/v1/read/x", { token: null })).status).toBe(401);
    const v3 = await (await h.req("GET", "/v3", { token: null })).json();
    for (const name of ["apps", "builds", "deployments", "domains", "droplets", "audit_events", "organizations", "packages", "processes", "resource_matches", "routes", "spaces", "stacks", "tasks", "feature_flags"]) {
      expect(v3.links[name].href).toBe(`${BASE}/v3/${name}`);
    }
  });

  test("an unknown /v3 path is a CF-NotFound, not an HTML page", async () => {
    const res = await h.req("GET", "/v3/nothing_here");
    expect(res.status).toBe(404);
    expect(await cfError(res)).toMatchObject({ code: 10000, title: "CF-NotFound" });
  });
});
