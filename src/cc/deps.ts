import type { Context } from "hono";
import type { Database } from "bun:sqlite";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { BlobStore } from "../store/index.ts";
import type { Clock, NewGuid } from "./clock.ts";
import type { CcPorts, DesiredChange } from "./ports.ts";

/** Everything a CC route module needs, injected once by the part factory. */
export interface CcDeps {
  db: Database;
  blobs: BlobStore;
  config: Config;
  logger: Logger;
  clock: Clock;
  newGuid: NewGuid;
  ports: CcPorts;
  /** Public base URL of the appliance (links are absolute, as the CLI follows them). */
  baseUrl: () => string;
  /** HMAC key for UAA access tokens (derived from the appliance token key). */
  uaaKey: string;
  /** Announce a committed desired-state change (Sink nudge). */
  changed(change: DesiredChange): void;
  /** ISO timestamp for rows (ms precision keeps ordering stable). */
  stamp(): string;
}

/** The authenticated caller, set by the bearer middleware. */
export interface CcUser {
  guid: string;
  name: string;
  scopes: string[];
}

export type CcEnv = { Variables: { user: CcUser } };

/** A handler's context, for helpers shared by several routes. */
export type CcContext = Context<CcEnv, string>;
