/**
 * The UAA's server-side refresh-token store: every refresh token issued, in
 * chains (one per login). A used token is revoked when its successor is
 * issued; presenting a revoked one again revokes its whole chain (a stolen
 * token replayed); logout revokes the chain.
 */
export default {
  version: 9,
  name: "uaa_tokens",
  sql: `
CREATE TABLE uaa_refresh_tokens (
  jti TEXT PRIMARY KEY,
  chain TEXT NOT NULL,
  user_guid TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX uaa_refresh_tokens_chain ON uaa_refresh_tokens (chain);
CREATE TABLE uaa_revoked_chains (
  chain TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`,
};
