import type { ProbeResult, ProbeSpec } from "./executor.ts";

/**
 * Port and HTTP health checks against an address (127.0.0.1 for plain
 * processes, the container's IP on the bridge for containers), worded as
 * Diego words them.
 */
export async function probeAddress(host: string, spec: ProbeSpec): Promise<ProbeResult> {
  if (spec.type === "http") {
    try {
      const res = await fetch(`http://${host}:${spec.port}${spec.path}`, { signal: AbortSignal.timeout(spec.timeoutMs || 1000), redirect: "manual" });
      await res.body?.cancel();
      if (res.status === 200) return { ok: true, message: "" };
      return { ok: false, message: `Failed to make HTTP request to '${spec.path}' on port ${spec.port}: received status code ${res.status}` };
    } catch (e) {
      return { ok: false, message: `Failed to make HTTP request to '${spec.path}' on port ${spec.port}: ${(e as Error).message}` };
    }
  }
  return tcpProbe(host, spec.port, spec.timeoutMs || 1000);
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, message: `Failed to make TCP connection to port ${port}: timed out after ${timeoutMs}ms` }), timeoutMs);
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(s) {
          s.end();
          finish({ ok: true, message: "" });
        },
        data() {},
        connectError(_s, err) {
          finish({ ok: false, message: connectMessage(port, err) });
        },
        error() {},
      },
    }).catch((err: unknown) => finish({ ok: false, message: connectMessage(port, err) }));
  });
}

function connectMessage(port: number, err: unknown): string {
  const e = err as { code?: string; message?: string } | undefined;
  const why = e?.code === "ECONNREFUSED" ? "connection refused" : (e?.code ?? e?.message ?? String(err));
  return `Failed to make TCP connection to port ${port}: ${why}`;
}
