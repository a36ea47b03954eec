import { expect, test } from "bun:test";
import { deriveKey, parseBasicAuth, parseBearer, signJwt, TokenError, verifyJwt } from "../../src/auth/index.ts";

test("sign and verify round trip, expiry and forgery", () => {
  const token = signJwt({ sub: "u1", exp: 2000, user_name: "admin" }, "k1");
  expect(verifyJwt(token, "k1", 1000)).toMatchObject({ sub: "u1", user_name: "admin" });
  expect(() => verifyJwt(token, "k1", 2000)).toThrow(TokenError);
  expect(() => verifyJwt(token, "other", 1000)).toThrow(/signature/);
  const [h, , s] = token.split(".");
  const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "root", exp: 9999 })).toString("base64url")}.${s}`;
  expect(() => verifyJwt(forged, "k1", 1000)).toThrow(/signature/);
  expect(() => verifyJwt("nope", "k1")).toThrow(/not a JWT/);
  const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from("{}").toString("base64url")}.`;
  expect(() => verifyJwt(none, "k1")).toThrow(TokenError);
});

test("derived keys differ per purpose", () => {
  expect(deriveKey("m", "uaa")).not.toBe(deriveKey("m", "registry"));
});

test("authorization header parsing", () => {
  expect(parseBasicAuth("Basic " + Buffer.from("admin:p:w").toString("base64"))).toEqual({ username: "admin", password: "p:w" });
  expect(parseBasicAuth("Bearer x")).toBeNull();
  expect(parseBasicAuth(null)).toBeNull();
  expect(parseBearer("Bearer abc.def")).toBe("abc.def");
  expect(parseBearer("Basic abc")).toBeNull();
});

test("a token needs a numeric exp, and its audience must be the verifier's (issue 13)", () => {
  for (const claims of [{ sub: "u" }, { sub: "u", exp: "99999999999" }, { sub: "u", exp: null }]) {
    expect(() => verifyJwt(signJwt(claims as never, "k"), "k", 1000)).toThrow(/numeric expiry/);
  }
  const cc = signJwt({ sub: "u", exp: 2000, aud: ["cloud_controller", "cf"] }, "k");
  expect(verifyJwt(cc, "k", 1000, "cloud_controller").sub).toBe("u");
  expect(() => verifyJwt(cc, "k", 1000, "eirini-registry")).toThrow(/not meant for this service/);
  expect(() => verifyJwt(cc, "k", 1000)).toThrow(/not meant for this service/);
  expect(() => verifyJwt(signJwt({ sub: "u", exp: 2000 }, "k"), "k", 1000, "cloud_controller")).toThrow(/not meant/);
  expect(verifyJwt(signJwt({ sub: "u", exp: 2000, aud: "x" }, "k"), "k", 1000, "x").sub).toBe("u");
});
