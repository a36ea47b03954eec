/**
 * Tenancy benchmark (issue 11): `GET /v3/apps` at 10,000 apps over HTTP on
 * loopback against the built binary, one client, sequential requests:
 * (a) as a SpaceDeveloper who sees 10 of them (their one space),
 * (b) as admin, first page (50) of all 10,000, by created_at and by name;
 * the same for spaces (1,001) and routes (10,000, one per app).
 * Goal: p50 <= 10 ms for each. Baselines measured in the same run: the same
 * admin list through the path that loads every row (a label_selector
 * matching everything still takes it), and `GET /v3/info` (the HTTP floor).
 * Seeding: the appliance creates the user, org and roles' users through its
 * API; then, stopped, its database gets 1,000 spaces x 10 apps in one
 * transaction (10,000 API calls would only time the seeding), and it is
 * started again on the same data dir.
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, median, percentile, printTable } from "../table.ts";

const BIN = process.env.EIRINI_BIN ?? join(import.meta.dir, "../../../dist/eirini");
const SPACES = Number(process.env.BENCH_TENANCY_SPACES ?? 1_000);
const PER_SPACE = 10;
const REQUESTS = Number(process.env.BENCH_TENANCY_REQUESTS ?? 200);
const PASSWORD = "bench-admin-password";

if (!existsSync(BIN)) {
  console.log(`bench tenancy: no binary at ${BIN} (run \`make build\` or set EIRINI_BIN)`);
  process.exit(1);
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

async function start(dir: string, port: number) {
  const proc = Bun.spawn([BIN, "local", "--port", String(port), "--data-dir", dir], { stdout: "ignore", stderr: "ignore", env: { ...process.env, EIRINI_ADMIN_PASSWORD: PASSWORD } });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error("appliance did not become ready");
    await Bun.sleep(50);
  }
}

async function token(url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/uaa/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` }, body: new URLSearchParams({ grant_type: "password", username, password }) });
  if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function call(url: string, tok: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `bearer ${tok}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as any;
}

const dir = mkdtempSync(join(tmpdir(), "eirini-bench-tenancy-"));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
try {
  let proc = await start(dir, port);
  const admin = await token(url, "admin", PASSWORD);
  await call(url, admin, "POST", "/uaa/Users", { userName: "dev", password: "dev-password" });
  const org = (await call(url, admin, "POST", "/v3/organizations", { name: "bench" })).guid as string;
  const devGuid = (await call(url, admin, "GET", "/uaa/Users?filter=userName%20eq%20%22dev%22")).resources[0].id as string;
  proc.kill("SIGTERM");
  await proc.exited;

  const db = new Database(join(dir, "eirini.db"));
  db.exec("PRAGMA journal_mode = WAL");
  const t0 = Date.now();
  db.transaction(() => {
    const space = db.query("INSERT INTO cc_spaces (guid, name, org_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
    const app = db.query("INSERT INTO cc_apps (guid, name, space_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
    const domain = (db.query("SELECT guid FROM cc_domains LIMIT 1").get() as { guid: string }).guid;
    const route = db.query("INSERT INTO cc_routes (guid, host, path, domain_guid, space_guid, created_at, updated_at) VALUES (?, ?, '', ?, ?, ?, ?)");
    const role = db.query("INSERT INTO cc_roles (guid, type, user_guid, org_guid, space_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    let n = 0;
    for (let s = 0; s < SPACES; s++) {
      const sg = crypto.randomUUID();
      const at = new Date(Date.UTC(2030, 0, 1) + n).toISOString();
      space.run(sg, `space-${s}`, org, at, at);
      for (let a = 0; a < PER_SPACE; a++, n++) {
        const stamp = new Date(Date.UTC(2030, 0, 1) + n).toISOString();
        app.run(crypto.randomUUID(), `app-${s}-${a}`, sg, stamp, stamp);
        route.run(crypto.randomUUID(), `r-${s}-${a}`, domain, sg, stamp, stamp);
      }
      // The developer's one space is in the middle of the table, not conveniently first.
      if (s === Math.floor(SPACES / 2)) {
        role.run(crypto.randomUUID(), "organization_user", devGuid, org, null, at, at);
        role.run(crypto.randomUUID(), "space_developer", devGuid, null, sg, at, at);
      }
    }
  })();
  db.close();
  const seededMs = Date.now() - t0;

  proc = await start(dir, port);
  const adminTok = await token(url, "admin", PASSWORD);
  const devTok = await token(url, "dev", "dev-password");
  const total = (tok: string, path: string) => call(url, tok, "GET", path).then((r) => r.pagination.total_results as number);
  const seen = { dev: await total(devTok, "/v3/apps"), admin: await total(adminTok, "/v3/apps") };

  async function timeGet(tok: string, path: string): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < 5; i++) await call(url, tok, "GET", path); // warm
    for (let i = 0; i < REQUESTS; i++) {
      const t = performance.now();
      const res = await fetch(`${url}${path}`, { headers: { authorization: `bearer ${tok}` } });
      await res.arrayBuffer();
      out.push(performance.now() - t);
    }
    return out;
  }
  const rows: (string | number)[][] = [];
  const row = (what: string, xs: number[], goal: string) => rows.push([what, fmt(median(xs), 2), fmt(percentile(xs, 90), 2), goal, goal === "" ? "" : median(xs) <= 10 ? "yes" : "NO"]);
  row(`SpaceDeveloper: GET /v3/apps (sees ${seen.dev} of ${seen.admin})`, await timeGet(devTok, "/v3/apps"), "<= 10");
  row(`admin: GET /v3/apps first page (of ${seen.admin})`, await timeGet(adminTok, "/v3/apps"), "<= 10");
  row("admin: GET /v3/apps?order_by=name first page", await timeGet(adminTok, "/v3/apps?order_by=name"), "<= 10");
  row("SpaceDeveloper: GET /v3/spaces", await timeGet(devTok, "/v3/spaces"), "<= 10");
  row(`admin: GET /v3/spaces first page (of ${SPACES + 1})`, await timeGet(adminTok, "/v3/spaces"), "<= 10");
  row("SpaceDeveloper: GET /v3/routes", await timeGet(devTok, "/v3/routes"), "<= 10");
  row("admin: GET /v3/routes first page (of 10,000)", await timeGet(adminTok, "/v3/routes"), "<= 10");
  row("baseline: admin list loading every row (label_selector path)", await timeGet(adminTok, "/v3/apps?label_selector=!none"), "");
  row("baseline: GET /v3/info (HTTP floor)", await timeGet(adminTok, "/v3/info"), "");
  printTable(`GET /v3/apps at ${seen.admin} apps, one client, ${REQUESTS} sequential requests each (ms); seeded in ${seededMs} ms`, ["request", "p50", "p90", "goal p50", "met"], rows);
  proc.kill("SIGTERM");
  await proc.exited;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
