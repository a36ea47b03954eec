import type { Database } from "bun:sqlite";
import { LoginPolicy, LoginRefused } from "./login-policy.ts";

export { LoginPolicy, LoginRefused } from "./login-policy.ts";

export interface User {
  guid: string;
  username: string;
  scopes: string[];
  created_at: string;
}

interface UserRow {
  guid: string;
  username: string;
  password_hash: string;
  scopes: string;
  created_at: string;
}

/** Users and their hashed passwords; plaintext passwords never reach the database. */
export class UserRepo {
  /** Lockout, bounded hash queue and per-client fairness for every password check (UAA, registry Basic, /v2/token). */
  readonly policy: LoginPolicy;

  constructor(private readonly db: Database, policy?: LoginPolicy) {
    this.policy = policy ?? new LoginPolicy();
    // Made now, so the first unknown-user login costs one hash, like any other login, not two.
    void dummyHash();
  }

  count(): number {
    return (this.db.query("SELECT COUNT(*) AS n FROM users").get() as { n: number }).n;
  }

  find(username: string): User | null {
    const row = this.db.query("SELECT * FROM users WHERE username = ?").get(username) as UserRow | null;
    return row ? toUser(row) : null;
  }

  findByGuid(guid: string): User | null {
    const row = this.db.query("SELECT * FROM users WHERE guid = ?").get(guid) as UserRow | null;
    return row ? toUser(row) : null;
  }

  async create(username: string, password: string, scopes: string[]): Promise<User> {
    const hash = await this.policy.hash("internal", () => Bun.password.hash(password, { algorithm: "argon2id" }));
    const user: User = { guid: crypto.randomUUID(), username, scopes, created_at: new Date().toISOString() };
    this.db
      .query("INSERT INTO users (guid, username, password_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(user.guid, username, hash, JSON.stringify(scopes), user.created_at);
    return user;
  }

  /**
   * The user when the password matches, else null (same cost either way).
   * Throws LoginRefused when the user is locked or the client has too many
   * checks waiting: nothing is hashed then. `client` identifies the caller
   * (its address) for the hash queue's fairness.
   */
  async verify(username: string, password: string, client = "unknown"): Promise<User | null> {
    this.policy.assertNotLocked(username);
    const row = this.db.query("SELECT * FROM users WHERE username = ?").get(username) as UserRow | null;
    const ok = await this.policy.hash(client, async () => {
      if (!row) {
        await Bun.password.verify(password, await dummyHash());
        return false;
      }
      return Bun.password.verify(password, row.password_hash);
    });
    if (ok && row) {
      // A right password that finished after parallel failures locked the user is still refused.
      this.policy.assertNotLocked(username);
      this.policy.recordSuccess(username);
      return toUser(row);
    }
    this.policy.recordFailure(username);
    return null;
  }

  /** Like verify, but a refusal (locked, busy) is null too: for callers with one way to say no. */
  async verifyOrNull(username: string, password: string, client = "unknown"): Promise<User | null> {
    try {
      return await this.verify(username, password, client);
    } catch (err) {
      if (err instanceof LoginRefused) return null;
      throw err;
    }
  }
}

// Verifying against a throwaway hash keeps unknown-user logins as slow as wrong-password ones.
let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  return (dummy ??= Bun.password.hash(crypto.randomUUID(), { algorithm: "argon2id" }));
}

function toUser(row: UserRow): User {
  return { guid: row.guid, username: row.username, scopes: JSON.parse(row.scopes) as string[], created_at: row.created_at };
}
