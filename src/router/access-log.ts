import type { LogSink } from "../model/index.ts";

/** One access-log record: what gorouter writes per request as `[RTR/0]`. */
export interface AccessRecord {
  host: string;
  /** Request start, ms since the epoch. */
  startMs: number;
  method: string;
  target: string;
  version: string;
  status: number;
  bytesReceived: number;
  bytesSent: number;
  referer: string;
  userAgent: string;
  remote: string;
  backend: string;
  xForwardedFor: string;
  xForwardedProto: string;
  requestId: string;
  /** Seconds from request start to the end of the response. */
  responseTime: number;
  /** Seconds the router itself spent (before the first upstream attempt). */
  routerTime: number;
  appId: string;
  appIndex: string;
  instanceId: string;
  routerError: string;
}

const q = (s: string) => (s === "" ? "-" : s.indexOf('"') < 0 && s.indexOf("\\") < 0 ? s : s.replace(/["\\]/g, (c) => `\\${c}`));

let stampSecond = -1;
let stampPrefix = "";
/** gorouter's time stamp: 2016-11-24T00:04:01.490+0000 (the part up to the second is formatted once per second). */
function stamp(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== stampSecond) {
    stampSecond = sec;
    stampPrefix = new Date(sec * 1000).toISOString().slice(0, 20);
  }
  const frac = ms - sec * 1000;
  return `${stampPrefix}${frac < 10 ? "00" : frac < 100 ? "0" : ""}${Math.floor(frac)}+0000`;
}

/** Seconds with nine decimals (gorouter's response_time), without Number#toFixed. */
function seconds(s: number): string {
  const ns = Math.max(0, Math.round(s * 1e9));
  const whole = Math.floor(ns / 1e9);
  const frac = String(ns - whole * 1e9);
  return `${whole}.${"000000000".slice(frac.length)}${frac}`;
}

/**
 * The access-log line in gorouter's format:
 * host - [time] "METHOD target PROTO" status bytes_received bytes_sent "referer" "user_agent"
 * "remote_addr" "backend_addr" x_forwarded_for:"..." x_forwarded_proto:"..." vcap_request_id:"..."
 * response_time:secs gorouter_time:secs app_id:"..." app_index:"..." instance_id:"..." x_cf_routererror:"..."
 */
export function formatAccessLine(r: AccessRecord): string {
  return (
    `${r.host} - [${stamp(r.startMs)}] "${r.method} ${r.target} ${r.version}" ${r.status} ${r.bytesReceived} ${r.bytesSent} ` +
    `"${q(r.referer)}" "${q(r.userAgent)}" "${r.remote}" "${r.backend || "-"}" ` +
    `x_forwarded_for:"${q(r.xForwardedFor)}" x_forwarded_proto:"${q(r.xForwardedProto)}" vcap_request_id:"${r.requestId}" ` +
    `response_time:${seconds(r.responseTime)} gorouter_time:${seconds(r.routerTime)} app_id:"${r.appId || "-"}" app_index:"${r.appIndex || "-"}" ` +
    `instance_id:"${r.instanceId || "-"}" x_cf_routererror:"${r.routerError || "-"}"`
  );
}

/** Writes access lines into the app's log as source RTR, instance 0 (`cf logs` shows `[RTR/0]`). */
export class AccessLog {
  constructor(private readonly sink: LogSink) {}

  write(r: AccessRecord): void {
    if (!r.appId) return; // no app to log to (unknown route): gorouter's own log only
    // Nanoseconds from the monotonic clock's origin: lines of requests ending in the same millisecond keep their order.
    const endNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
    this.sink.append({ source_id: r.appId, timestamp: endNs, source_type: "RTR", instance_id: "0", stream: "OUT", message: formatAccessLine(r) });
  }
}
