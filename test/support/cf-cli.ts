import { describe } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startEirini, type RunningEirini } from "./appliance-process.ts";
import { compiledEirini } from "./compiled-binary.ts";
import { tempDir } from "./tmp.ts";

/**
 * The stock cf CLI as the judge of the CF API. The binary is built outside the
 * repository (../shared/cf/README.md) and found at `$CF7_BIN`, else
 * `/opt/real/cf/cf7`. Where it is absent, `describeCf` prints one line and
 * skips its tests; the rest of the suite runs as usual.
 */
export const CF7_BIN = process.env.CF7_BIN ?? "/opt/real/cf/cf7";
export const haveCf7 = existsSync(CF7_BIN);

let announced = false;
/** `describe` when the real cf CLI is here; otherwise one clear line and a skipped block. */
export function describeCf(name: string, body: () => void): void {
  if (haveCf7) return describe(name, body);
  if (!announced) {
    announced = true;
    console.log(`SKIP real cf CLI tests: no cf7 binary at ${CF7_BIN} (set CF7_BIN; see ../shared/cf/README.md)`);
  }
  describe.skip(name, body);
}

export interface CfResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for messages the CLI prints to either. */
  out: string;
}

export interface CfSession {
  eirini: RunningEirini;
  /** API base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  password: string;
  cfHome: string;
  dataDir: string;
  /** Runs the real `cf` with this session's CF_HOME; `stdin` is fed if given. */
  cf(args: string[], opts?: { cwd?: string; env?: Record<string, string>; stdin?: string; timeoutMs?: number }): Promise<CfResult>;
  /** `cf` that must exit 0; throws with the CLI's output otherwise. */
  ok(args: string[], opts?: { cwd?: string; env?: Record<string, string>; stdin?: string; timeoutMs?: number }): Promise<CfResult>;
  /** The API with the session's current token (read through `cf oauth-token`). */
  api<T = unknown>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
  /** GET through the router: http://<host>.apps.localhost:<port><path>. */
  route(host: string, path?: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * Starts the compiled appliance on a random port with a temp data dir, gives
 * the cf CLI its own CF_HOME, and logs in as admin targeting the default org
 * and space. One per test file keeps files parallel and independent.
 */
export async function startCfSession(
  opts: {
    args?: string[];
    env?: Record<string, string>;
    /** The URL `cf api` targets (default: the appliance's plain http URL), e.g. its TLS listener or a proxy in front. */
    apiUrl?: (eirini: RunningEirini, dataDir: string) => string | Promise<string>;
    /** Extra environment for every cf run (e.g. SSL_CERT_FILE to trust a CA). */
    cfEnv?: Record<string, string>;
  } = {},
): Promise<CfSession> {
  const password = `cf-test-${crypto.randomUUID()}`;
  const dataDir = tempDir("eirini-cf-data-");
  const cfHome = tempDir("eirini-cf-home-");
  const eirini = await startEirini(["--port", "0", "--data-dir", dataDir, ...(opts.args ?? [])], { EIRINI_BIN: compiledEirini(), EIRINI_ADMIN_PASSWORD: password, ...opts.env });
  const url = eirini.url;
  const port = Number(new URL(url).port);
  const cf: CfSession["cf"] = async (args, o = {}) => {
    const proc = Bun.spawn([CF7_BIN, ...args], {
      cwd: o.cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cfHome, CF_HOME: cfHome, CF_COLOR: "false", CF_PLUGIN_HOME: cfHome, LANG: "en_US.UTF-8", ...opts.cfEnv, ...o.env },
      stdin: o.stdin === undefined ? "ignore" : new TextEncoder().encode(o.stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 120_000);
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    return { code, stdout, stderr, out: stdout + stderr };
  };
  const ok: CfSession["ok"] = async (args, o) => {
    const r = await cf(args, o);
    if (r.code !== 0) throw new Error(`cf ${args.join(" ")} exited ${r.code}:\n${r.out}`);
    return r;
  };
  await ok(["api", opts.apiUrl ? await opts.apiUrl(eirini, dataDir) : url, "--skip-ssl-validation"]);
  await ok(["auth", "admin", password]);
  await ok(["target", "-o", "eirini", "-s", "dev"]);
  const api: CfSession["api"] = async <T>(path: string, init: RequestInit = {}) => {
    const token = (await ok(["oauth-token"])).stdout.trim();
    const res = await fetch(`${url}${path}`, { ...init, headers: { authorization: token, "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) } });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  return {
    eirini,
    url,
    port,
    password,
    cfHome,
    dataDir,
    cf,
    ok,
    api,
    route: (host, path = "/", init) => fetch(`http://${host}.apps.localhost:${port}${path}`, init),
    async stop() {
      await eirini.stop();
    },
  };
}

/** Where the repository's app fixtures live. */
export const FIXTURES = join(import.meta.dir, "..", "..", "test-fixtures");
