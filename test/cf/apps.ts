import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CfSession } from "../support/cf-cli.ts";
import { FIXTURES } from "../support/cf-cli.ts";
import { tempDir } from "../support/tmp.ts";

/**
 * Small apps for the real-CLI suite, built in temp dirs, and lookups of what
 * the CLI did, read back through the API (the effect, not the CLI's word).
 */

/** A copy of test-fixtures/node-hello (answers JSON with its app name, index and path). */
export function nodeHello(): string {
  const dir = tempDir("eirini-cf-app-");
  cpSync(join(FIXTURES, "node-hello"), dir, { recursive: true });
  return dir;
}

/** A node app whose code lives in a subdirectory (`lib/`): the CLI zips `lib/` as a directory entry. */
export function nodeWithSubdir(): string {
  const dir = tempDir("eirini-cf-sub-");
  mkdirSync(join(dir, "lib", "deeper"), { recursive: true });
  writeFileSync(join(dir, "lib", "deeper", "word.js"), 'module.exports = "from-a-subdirectory";\n');
  writeFileSync(join(dir, "lib", "answer.js"), 'module.exports = () => require("./deeper/word.js");\n');
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "sub", version: "1.0.0", scripts: { start: "node server.js" } }));
  writeFileSync(
    join(dir, "server.js"),
    'require("node:http").createServer((q, s) => s.end(require("./lib/answer.js")() + "\\n")).listen(Number(process.env.PORT || 8080));\n',
  );
  return dir;
}

/**
 * An app with a Procfile (web and worker) whose web server echoes env and
 * limits on request: `/env/NAME`, `/vcap`; `/crash` makes it exit 3; other paths are logged.
 */
export function procfileApp(): string {
  const dir = tempDir("eirini-cf-proc-");
  writeFileSync(
    join(dir, "web.js"),
    [
      'const http = require("node:http");',
      "http.createServer((q, s) => {",
      '  if (q.url.startsWith("/env/")) return s.end(String(process.env[q.url.slice(5)] ?? "") + "\\n");',
      '  if (q.url === "/vcap") return s.end(process.env.VCAP_APPLICATION + "\\n");',
      '  if (q.url === "/health") return s.end("ok\\n");',
      '  if (q.url === "/crash") { s.end("bye\\n"); console.error("crashing on request"); setTimeout(() => process.exit(3), 10); return; }',
      '  console.log(`served ${q.url}`);',
      '  s.end(`web ${process.env.CF_INSTANCE_INDEX} ${q.url}\\n`);',
      "}).listen(Number(process.env.PORT || 8080));",
    ].join("\n"),
  );
  writeFileSync(join(dir, "worker.js"), 'console.log("worker up"); setInterval(() => {}, 1 << 30);\n');
  writeFileSync(join(dir, "Procfile"), "web: node web.js\nworker: node worker.js\n");
  return dir;
}

export async function appGuid(s: CfSession, name: string): Promise<string> {
  const r = await s.api<{ resources: { guid: string }[] }>(`/v3/apps?names=${encodeURIComponent(name)}`);
  const guid = r.body.resources[0]?.guid;
  if (!guid) throw new Error(`no app named ${name}`);
  return guid;
}

export interface ProcessView {
  guid: string;
  type: string;
  command: string | null;
  instances: number;
  memory_in_mb: number;
  disk_in_mb: number;
  health_check: { type: string; data: { timeout: number | null; endpoint?: string; invocation_timeout: number | null } };
}

export async function processOf(s: CfSession, app: string, type = "web"): Promise<ProcessView> {
  const guid = await appGuid(s, app);
  return (await s.api<ProcessView>(`/v3/apps/${guid}/processes/${type}`)).body;
}

export interface StatView {
  index: number;
  state: string;
  usage: { mem?: number; disk?: number; cpu?: number; time?: string };
  instance_guid?: string;
}

export async function statsOf(s: CfSession, app: string, type = "web"): Promise<StatView[]> {
  const p = await processOf(s, app, type);
  return (await s.api<{ resources: StatView[] }>(`/v3/processes/${p.guid}/stats`)).body.resources;
}

/** Route URLs mapped to an app (`host.domain/path`). */
export async function routesOf(s: CfSession, app: string): Promise<string[]> {
  const guid = await appGuid(s, app);
  const r = await s.api<{ resources: { url: string }[] }>(`/v3/apps/${guid}/routes`);
  return r.body.resources.map((x) => x.url).sort();
}

/** The body the app answers through the router, or the status when not 200. */
export async function answer(s: CfSession, host: string, path = "/"): Promise<string> {
  const res = await s.route(host, path);
  const text = await res.text();
  return res.status === 200 ? text.trim() : `HTTP ${res.status}`;
}
