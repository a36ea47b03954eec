import type { Logger } from "../../log/index.ts";
import { normalizeHost } from "../../model/index.ts";

/**
 * Routing from a laptop: the pods' IPs are not reachable, but the API
 * server's service proxy is (`/api/v1/namespaces/<ns>/services/<svc>:<port>/proxy/...`).
 * This listener on 127.0.0.1 is the route target the router connects to;
 * it picks the route's Service from the original Host (X-Forwarded-Host)
 * and forwards with the kubeconfig's credentials. So
 * `http://myapp.apps.localhost:7080` works against kind with no ingress.
 */
export interface ServiceProxyDeps {
  server: string;
  namespace: string;
  serviceForHost(host: string, path?: string): { name: string; port: number } | undefined;
  /** fetch with the kubeconfig's credentials and TLS settings. */
  fetch(url: string, init: { method: string; headers: Record<string, string>; body?: ArrayBuffer }): Promise<{ status: number; headers: Iterable<[string, string]> | { forEach(fn: (v: string, k: string) => void): void }; arrayBuffer(): Promise<ArrayBuffer> }>;
  logger: Logger;
}

const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host", "authorization", "content-length"]);

export function startServiceProxy(d: ServiceProxyDeps): { port: number; stop(): void } {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 120,
    async fetch(req) {
      const host = normalizeHost(req.headers.get("x-forwarded-host") ?? req.headers.get("host") ?? "");
      const u = new URL(req.url);
      const svc = d.serviceForHost(host, u.pathname);
      if (!svc) return new Response(`no route for ${host}\n`, { status: 404 });
      const target = `${d.server}/api/v1/namespaces/${encodeURIComponent(d.namespace)}/services/${encodeURIComponent(svc.name)}:${svc.port}/proxy${u.pathname}${u.search}`;
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => {
        if (!HOP.has(k.toLowerCase())) headers[k] = v;
      });
      try {
        const res = await d.fetch(target, { method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer() });
        const out = new Headers();
        const add = (v: string, k: string) => {
          if (!HOP.has(k.toLowerCase())) out.append(k, v);
        };
        if ("forEach" in res.headers) res.headers.forEach(add);
        else for (const [k, v] of res.headers) add(v, k);
        return new Response(await res.arrayBuffer(), { status: res.status, headers: out });
      } catch (err) {
        d.logger.warn("service proxy request failed", { host, service: svc.name, error: err });
        return new Response("the Kubernetes API server's service proxy did not answer\n", { status: 502 });
      }
    },
  });
  return { port: server.port!, stop: () => void server.stop(true) };
}
