import { createHash, timingSafeEqual } from "node:crypto";
import { parseBasicAuth, parseBearer, signJwt, TokenError, verifyJwt } from "../auth/index.ts";
import type { UserRepo } from "../store/index.ts";
import { OciError } from "./errors.ts";

export const SERVICE = "eirini-registry";
const ISSUER = "eirini";

/** One grant in the Docker token format: `repository:<name>:pull,push`. */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** Who is calling and what their credentials allow. */
export interface Principal {
  subject: string;
  push: boolean;
  pull: boolean;
  catalog: boolean;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryAuthOptions {
  users: UserRepo;
  /** The pull-only account the Kubernetes backend puts into image pull secrets. */
  pull: Credentials;
  /** Signing key for bearer tokens (derived from the appliance key for "registry"). */
  key: string;
  anonymousPull: boolean;
  tokenTtlSec?: number;
  nowMs?: () => number;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();
const BASIC_CACHE_MS = 5 * 60_000;
const BASIC_CACHE_MAX = 1024;
const TOKEN_CACHE_MAX = 4096;

/** Parses `type:name:actions`; the name may not hold `:` but the type may carry a `(class)`. */
export function parseScope(scope: string): Access | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return null;
  const type = scope.slice(0, first).replace(/\(.*\)$/, "");
  const name = scope.slice(first + 1, last);
  const actions = scope.slice(last + 1).split(",").filter(Boolean);
  return name ? { type, name, actions } : null;
}

/**
 * Registry authentication: Basic credentials (store users by scope, plus the
 * pull-only account) and bearer tokens issued by `/v2/token`. Verified Basic
 * headers are remembered briefly by hash, so a pull does not pay for an
 * password check on every request; failures are never cached.
 */
export class RegistryAuth {
  private readonly basicCache = new Map<string, { principal: Principal; until: number }>();
  // Verified bearer tokens (signature and audience checked once), until they expire: pulls reuse one token for many requests.
  private readonly tokenCache = new Map<string, { access: Access[]; expMs: number }>();
  private readonly pullUser: Buffer;
  private readonly pullPass: Buffer;
  private readonly now: () => number;
  readonly tokenTtlSec: number;

  constructor(private readonly opts: RegistryAuthOptions) {
    this.now = opts.nowMs ?? Date.now;
    this.tokenTtlSec = opts.tokenTtlSec ?? 900;
    this.pullUser = sha256(opts.pull.username);
    this.pullPass = sha256(opts.pull.password);
  }

  /** The actions `principal` may take on a resource (a subset of what was asked for). */
  grant(principal: Principal | null, want: Access): string[] {
    const asked = want.actions.includes("*") ? ["pull", "push", "delete", "*"] : want.actions;
    if (want.type === "registry" && want.name === "catalog") return principal?.catalog ? asked.filter((a) => a === "*") : [];
    if (want.type !== "repository") return [];
    return asked.filter((a) => {
      if (a === "pull") return principal ? principal.pull : this.opts.anonymousPull;
      if (a === "push" || a === "delete" || a === "*") return !!principal?.push;
      return false;
    });
  }

  async verifyBasic(username: string, password: string): Promise<Principal | null> {
    if (timingSafeEqual(sha256(username), this.pullUser) && timingSafeEqual(sha256(password), this.pullPass)) {
      return { subject: username, pull: true, push: false, catalog: false };
    }
    // Locked users and busy clients are refused like a wrong password (the registry has one way to say no).
    const user = await this.opts.users.verifyOrNull(username, password, `registry:${username}`);
    if (!user) return null;
    const push = user.scopes.includes("registry.push");
    const pull = push || user.scopes.includes("registry.pull");
    return { subject: username, pull, push, catalog: push && user.scopes.includes("cloud_controller.admin") };
  }

  /** Principal for an `Authorization: Basic` header, or null when the header or password is wrong. */
  async basic(header: string): Promise<Principal | null> {
    const key = sha256(header).toString("hex");
    const hit = this.basicCache.get(key);
    const t = this.now();
    if (hit && hit.until > t) return hit.principal;
    const creds = parseBasicAuth(header);
    if (!creds) return null;
    const principal = await this.verifyBasic(creds.username, creds.password);
    if (!principal) return null;
    if (this.basicCache.size >= BASIC_CACHE_MAX) this.basicCache.clear();
    this.basicCache.set(key, { principal, until: t + BASIC_CACHE_MS });
    return principal;
  }

  /** Signs a token granting `principal` what it may have of `wanted`. */
  issue(principal: Principal | null, wanted: Access[]): { token: string; expiresIn: number; issuedAt: string; access: Access[] } {
    const nowSec = Math.floor(this.now() / 1000);
    const access = wanted.map((w) => ({ type: w.type, name: w.name, actions: this.grant(principal, w) })).filter((a) => a.actions.length > 0);
    const token = signJwt(
      { iss: ISSUER, aud: SERVICE, sub: principal?.subject ?? "", iat: nowSec, nbf: nowSec - 5, exp: nowSec + this.tokenTtlSec, jti: crypto.randomUUID(), access },
      this.opts.key,
    );
    return { token, expiresIn: this.tokenTtlSec, issuedAt: new Date(nowSec * 1000).toISOString(), access };
  }

  /**
   * Checks that the request may perform `need`; throws the 401/403 the spec
   * asks for. `realm` is the token endpoint URL for the challenge.
   */
  async check(authorization: string | null | undefined, need: Access | null, realm: string): Promise<void> {
    if (this.checkSync(authorization, need, realm)) return;
    const principal = await this.basic(authorization!);
    this.decideBasic(principal, need, realm);
  }

  /**
   * The same check without waiting: true when decided from the token or the
   * cache of verified Basic headers (throws when refused), false when an
   * uncached Basic password still needs hashing. Keeps hot pulls synchronous.
   */
  checkSync(authorization: string | null | undefined, need: Access | null, realm: string): boolean {
    if (!authorization) {
      if (need && this.grant(null, need).length === need.actions.length) return true;
      if (!need && this.opts.anonymousPull) return true;
      throw new OciError("UNAUTHORIZED", "authentication required", 401, null, challenge(realm, need));
    }
    const bearer = parseBearer(authorization);
    if (bearer === null) {
      const hit = this.basicCache.get(sha256(authorization).toString("hex"));
      if (!hit || hit.until <= this.now()) return false;
      this.decideBasic(hit.principal, need, realm);
      return true;
    }
    const nowMs = this.now();
    let verified = this.tokenCache.get(bearer);
    if (!verified || verified.expMs <= nowMs) {
      this.tokenCache.delete(bearer);
      let claims;
      try {
        claims = verifyJwt(bearer, this.opts.key, Math.floor(nowMs / 1000), SERVICE);
      } catch (err) {
        if (err instanceof TokenError) throw new OciError("UNAUTHORIZED", `invalid token: ${err.message}`, 401, null, challenge(realm, need, "invalid_token"), { cause: err });
        throw err;
      }
      if (claims.aud !== SERVICE || claims.iss !== ISSUER) throw new OciError("UNAUTHORIZED", "token is not for this registry", 401, null, challenge(realm, need, "invalid_token"));
      verified = { access: Array.isArray(claims.access) ? (claims.access as Access[]) : [], expMs: typeof claims.exp === "number" ? claims.exp * 1000 : nowMs + 60_000 };
      if (this.tokenCache.size >= TOKEN_CACHE_MAX) this.tokenCache.clear();
      this.tokenCache.set(bearer, verified);
    }
    if (!need) return true;
    const granted = verified.access.find((a) => a?.type === need.type && a?.name === need.name);
    const acts = granted?.actions ?? [];
    if (need.actions.every((a) => acts.includes(a) || acts.includes("*"))) return true;
    throw new OciError("UNAUTHORIZED", "token does not grant the required access", 401, { access: [need] }, challenge(realm, need, "insufficient_scope"));
  }

  private decideBasic(principal: Principal | null, need: Access | null, realm: string): void {
    if (!principal) throw new OciError("UNAUTHORIZED", "invalid username or password", 401, null, challenge(realm, need));
    if (!need || this.grant(principal, need).length === need.actions.length) return;
    throw new OciError("DENIED", "requested access to the resource is denied", 403, { access: [need] });
  }
}

function challenge(realm: string, need: Access | null, error?: string): Record<string, string> {
  const scope = need ? `,scope="${need.type}:${need.name}:${need.actions.join(",")}"` : "";
  return { "WWW-Authenticate": `Bearer realm="${realm}",service="${SERVICE}"${scope}${error ? `,error="${error}"` : ""}` };
}
