import type { CfApi } from "./cf-api.ts";

interface Envelope {
  timestamp: string;
  instance_id?: string;
  tags?: Record<string, string>;
  log?: { payload: string; type?: string };
}

export interface PrintedLog {
  timestamp: bigint;
  sourceType: string;
  instance: string;
  stream: string;
  message: string;
}

/** Reads log-cache envelopes of an app after `since` (ns), oldest first. */
export async function readLogs(api: CfApi, logCache: string, appGuid: string, since: bigint, limit = 1000): Promise<PrintedLog[]> {
  const q = new URLSearchParams({ start_time: String(since), envelope_types: "LOG", limit: String(limit) });
  const body = await api.get<{ envelopes: { batch: Envelope[] } }>(`${logCache}/api/v1/read/${appGuid}?${q}`);
  return body.envelopes.batch
    .filter((e) => e.log)
    .map((e) => ({
      timestamp: BigInt(e.timestamp),
      sourceType: e.tags?.source_type ?? "",
      instance: e.instance_id ?? "",
      stream: e.log!.type ?? "OUT",
      message: Buffer.from(e.log!.payload, "base64").toString("utf8"),
    }))
    .sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

/** `2026-01-01T00:00:00.00+0000 [APP/PROC/WEB/0] OUT hello`, as `cf logs` prints it. */
export function formatLog(l: PrintedLog): string {
  const when = new Date(Number(l.timestamp / 1_000_000n)).toISOString().replace("Z", "+0000");
  const src = l.instance && l.sourceType !== "STG" ? `${l.sourceType}/${l.instance}` : l.sourceType;
  return `   ${when} [${src}] ${l.stream} ${l.message}`;
}

/**
 * Polls log-cache until `stop()` resolves true, printing each new line once.
 * Returns the timestamp to continue from.
 */
export async function followLogs(
  api: CfApi,
  logCache: string,
  appGuid: string,
  since: bigint,
  print: (l: PrintedLog) => void,
  stop: () => boolean | Promise<boolean>,
  intervalMs = 200,
): Promise<bigint> {
  let cursor = since;
  for (;;) {
    const done = await stop();
    const lines = await readLogs(api, logCache, appGuid, cursor).catch(() => []);
    for (const l of lines) {
      print(l);
      cursor = l.timestamp + 1n;
    }
    if (done) return cursor;
    await Bun.sleep(intervalMs);
  }
}

/** The log-cache base URL from the API root's links. */
export async function logCacheUrl(api: CfApi): Promise<string> {
  const root = await api.get<{ links: { log_cache?: { href: string } | null } }>("/");
  return root.links.log_cache?.href ?? api.target;
}
