import { createHmac, timingSafeEqual } from "node:crypto";

export interface JwtClaims {
  [claim: string]: unknown;
  sub?: string;
  exp?: number;
  iat?: number;
  jti?: string;
}

/** A token that is malformed, forged, or expired; `reason` says which. */
export class TokenError extends Error {
  override name = "TokenError";
  constructor(readonly reason: "malformed" | "signature" | "expired" | "audience", message: string) {
    super(message);
  }
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

/** Signs claims as an HS256 JWT (what UAA-compatible clients can decode). */
export function signJwt(claims: JwtClaims, key: string, header: Record<string, unknown> = {}): string {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT", ...header }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac("sha256", key).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/**
 * Verifies signature, expiry and audience; returns the claims. A token must
 * carry a numeric `exp` (a token without one would never die). A verifier
 * naming an `audience` accepts only tokens whose `aud` (string or list)
 * holds it; one naming none accepts only tokens with no `aud`, so a token
 * meant for one service never passes at another. `nowSec` is injectable.
 */
export function verifyJwt(token: string, key: string, nowSec: number = Math.floor(Date.now() / 1000), audience?: string): JwtClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenError("malformed", "token is not a JWT");
  const [head, body, sig] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: JwtClaims;
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch (err) {
    throw new TokenError("malformed", "token is not a JWT");
  }
  if (header.alg !== "HS256" || typeof claims !== "object" || claims === null) throw new TokenError("malformed", "token uses an unsupported algorithm");
  const expected = createHmac("sha256", key).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError("signature", "token signature is invalid");
  if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) throw new TokenError("malformed", "token has no numeric expiry");
  if (claims.exp <= nowSec) throw new TokenError("expired", "token has expired");
  const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (audience === undefined ? aud.length > 0 : !aud.includes(audience)) throw new TokenError("audience", "token is not meant for this service");
  return claims;
}

/** Derives a purpose-specific key so a registry token can never pass as an API token. */
export function deriveKey(master: string, purpose: string): string {
  return createHmac("sha256", master).update(`eirini:${purpose}`).digest("hex");
}
