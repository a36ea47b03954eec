import type { Database } from "bun:sqlite";

/**
 * Refresh tokens by `jti`, grouped in chains (one chain per login; access
 * tokens carry the chain id too, so revoking a chain ends its sessions).
 * Revoked chains are also kept in memory: every API request asks.
 */
export type RefreshUse = { ok: true; chain: string; userGuid: string } | { ok: false; reason: "unknown" | "reused" | "revoked" };

export class TokenStore {
  private readonly revoked = new Set<string>();

  constructor(private readonly db: Database) {
    for (const r of db.query("SELECT chain FROM uaa_revoked_chains").all() as { chain: string }[]) this.revoked.add(r.chain);
  }

  /** Records a newly issued refresh token. */
  issued(jti: string, chain: string, userGuid: string, expiresAt: number): void {
    this.db.query("INSERT INTO uaa_refresh_tokens (jti, chain, user_guid, expires_at) VALUES (?, ?, ?, ?)").run(jti, chain, userGuid, expiresAt);
  }

  /**
   * Spends a refresh token: ok once; a second use revokes the whole chain
   * (whoever holds the token now, one of the two users is a thief).
   */
  use(jti: string, nowSec: number): RefreshUse {
    return this.db.transaction((): RefreshUse => {
      const row = this.db.query("SELECT chain, user_guid, revoked_at FROM uaa_refresh_tokens WHERE jti = ?").get(jti) as { chain: string; user_guid: string; revoked_at: number | null } | null;
      if (!row) return { ok: false, reason: "unknown" };
      if (this.revoked.has(row.chain)) return { ok: false, reason: "revoked" };
      if (row.revoked_at !== null) {
        this.revokeChainTx(row.chain, nowSec);
        return { ok: false, reason: "reused" };
      }
      this.db.query("UPDATE uaa_refresh_tokens SET revoked_at = ? WHERE jti = ?").run(nowSec, jti);
      return { ok: true, chain: row.chain, userGuid: row.user_guid };
    })();
  }

  isRevoked(chain: string): boolean {
    return this.revoked.has(chain);
  }

  revokeChain(chain: string, nowSec: number): void {
    this.db.transaction(() => this.revokeChainTx(chain, nowSec))();
  }

  private revokeChainTx(chain: string, nowSec: number): void {
    const exp = (this.db.query("SELECT MAX(expires_at) AS e FROM uaa_refresh_tokens WHERE chain = ?").get(chain) as { e: number | null }).e ?? nowSec;
    this.db.query("UPDATE uaa_refresh_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE chain = ?").run(nowSec, chain);
    this.db.query("INSERT OR IGNORE INTO uaa_revoked_chains (chain, revoked_at, expires_at) VALUES (?, ?, ?)").run(chain, nowSec, exp);
    this.revoked.add(chain);
  }

  /** Forgets tokens and chains past their expiry (nothing can present them any more). */
  prune(nowSec: number): void {
    this.db.query("DELETE FROM uaa_refresh_tokens WHERE expires_at < ?").run(nowSec);
    for (const r of this.db.query("DELETE FROM uaa_revoked_chains WHERE expires_at < ? RETURNING chain").all(nowSec) as { chain: string }[]) this.revoked.delete(r.chain);
  }
}
