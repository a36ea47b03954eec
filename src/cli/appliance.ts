import type { Server } from "bun";
import { Hono } from "hono";
import { failpoint, type Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { CliError } from "./command.ts";
import { firstStart } from "./first-start.ts";
import type { AppliancePart } from "../part/index.ts";
import type { EdgeListener } from "../router/index.ts";
import { buildParts } from "./parts.ts";
import { PublicUrls } from "./public-url.ts";
import { tlsMaterial, type TlsMaterial } from "./tls-cert.ts";
import { apiHostNames, bodyLimitFor, bodyTooLarge, duplicateHost, hostName, limitBody, unknownHost } from "./request-guard.ts";

export interface Appliance {
  readonly url: string;
  readonly port: number;
  /** The HTTPS listener (config tls.port), when configured. */
  readonly tls?: { url: string; port: number; caFile: string | null; fingerprint: string };
  readonly store: Store;
  readonly parts: AppliancePart[];
  /** Stop accepting, drain in-flight requests, stop parts, close the DB. */
  stop(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  env: Record<string, string | undefined>;
  /** Called once with the generated admin password, on the first start only. */
  onAdminPassword?: (password: string) => void;
  /** Keeps a generated admin password somewhere safe before the admin user is created (in-cluster: a Secret). */
  keepAdminPassword?: (password: string) => Promise<void>;
}

function listenError(err: unknown, config: Config, port = config.port): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") return new CliError(`port ${port} on ${config.host} is already in use`, 1, { cause: err });
  if (code === "EACCES") return new CliError(`not allowed to listen on ${config.host}:${port}`, 1, { cause: err });
  if (code === "EADDRNOTAVAIL") return new CliError(`address ${config.host} is not available on this machine`, 1, { cause: err });
  return new CliError(`cannot listen on ${config.host}:${port}: ${(err as Error).message}`, 1, { cause: err });
}

/** http(s)://host:port, with IPv6 hosts in brackets. */
function urlOf(host: string, port: number, scheme: "http" | "https" = "http"): string {
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Opens the store, runs first-start set-up, starts every part and the one HTTP server. */
export async function startAppliance(opts: StartOptions): Promise<Appliance> {
  const { config, logger } = opts;
  failpoint("start:config-loaded", opts.env);
  const store = openStore(config.dataDir);
  failpoint("start:store-open", opts.env);
  let server: Server<unknown> | undefined;
  // The public listeners: the router's edge on the port (and the TLS port) with the server behind it on loopback.
  let edge: EdgeListener | undefined;
  let tlsEdge: EdgeListener | undefined;
  let tlsServer: Server<unknown> | undefined;
  let tls: TlsMaterial | undefined;
  let parts: AppliancePart[] = [];
  const started: AppliancePart[] = [];
  let ready = false;
  try {
    const first = await firstStart(store, opts.env, opts.keepAdminPassword);
    if (first.generatedAdminPassword) opts.onAdminPassword?.(first.generatedAdminPassword);
    failpoint("start:first-start-done", opts.env);
    const plainUrl = () => urlOf(config.host, edge?.port ?? server?.port ?? config.port);
    const urls = new PublicUrls({ externalUrl: config.externalUrl, trustedProxies: config.trustedProxies }, plainUrl);
    if (config.tls.port !== undefined) tls = tlsMaterial(config);
    parts = await buildParts({ config, store, logger, tokenKey: first.tokenKey, baseUrl: () => urls.baseUrl() });

    const app = new Hono();
    app.get("/healthz", (c) => c.json({ status: "ok" }));
    app.get("/readyz", (c) => (ready ? c.json({ status: "ready" }) : c.json({ status: "starting" }, 503)));
    for (const part of parts) if (part.routes) app.route("/", part.routes);
    // Unknown paths answer CF error JSON like the rest of the API (the registry answers its own under /v2).
    app.notFound((c) => c.json({ errors: [{ code: 10000, title: "CF-NotFound", detail: "Unknown request" }] }, 404));
    const bodyLimits = parts.flatMap((p) => p.bodyLimits ?? []);
    // Besides apiHosts: the names others are told to reach us by (kubelets' registry address, staging pods' public URL).
    const advertised = [config.kube.registryAddress, config.kube.publicUrl, config.externalUrl, ...config.tls.hostnames].flatMap((a) => (a ? [hostName(a.replace(/^\w+:\/\//, "").split("/")[0]!) ?? ""] : [])).filter(Boolean);
    const apiHosts = apiHostNames(config.host, [...config.apiHosts, ...advertised]);

    const doors = parts.flatMap((p) => (p.frontDoor ? [p.frontDoor] : []));
    const websocket = parts.find((p) => p.websocket)?.websocket;
    // With an edge (the router), the HTTP server listens on loopback behind it and the edge owns the public
    // port(s). Its only peer is then the edge, which sets X-Forwarded-For/-Proto/-Host from what it saw
    // (incoming values kept only from trustedProxies): links and the client's address come from those.
    const edgePart = parts.find((p) => p.edge)?.edge;
    const peerOf = (req: Request, srv: Server<unknown>) => (edgePart ? urls.clientBehindEdge(req) : srv.requestIP(req)?.address);
    // One handler for both listeners; links in answers follow the listener (or externalUrl, or a trusted proxy: public-url.ts).
    // Before the parts: one Host header, then the router's front door, then only the API's own host names,
    // then each route's body limit applied while the body streams (request-guard.ts).
    const handler = (listenerUrl: () => string) => (req: Request, srv: Server<unknown>) =>
      urls.run(req, edgePart ? "edge" : srv.requestIP(req)?.address, listenerUrl(), async () => {
        const dup = duplicateHost(req);
        if (dup) return dup;
        for (const door of doors) {
          const res = door(req, srv);
          if (res) return res;
        }
        const path = new URL(req.url).pathname;
        if (path !== "/healthz" && path !== "/readyz") {
          const elsewhere = unknownHost(req, apiHosts, path);
          if (elsewhere) return elsewhere;
        }
        const limit = bodyLimitFor(bodyLimits, req.method, path);
        const guarded = limitBody(req, path, limit);
        if (guarded instanceof Response) return guarded;
        // The caller's address rides in the env: a rebuilt (counted) request has none of its own.
        const res = await app.fetch(guarded.req, { server: srv, clientAddress: peerOf(req, srv) ?? "unknown" });
        return guarded.exceeded() ? bodyTooLarge(path, limit) : res;
      });
    const common = {
      hostname: edgePart ? "127.0.0.1" : config.host,
      // Bun's own cap is the largest route limit; request-guard applies each route's.
      maxRequestBodySize: Math.max(config.registry.maxUploadBytes, config.staging.maxPackageBytes, ...bodyLimits.map((l) => l.maxBytes)),
      idleTimeout: 120,
      ...(websocket ? { websocket } : {}),
    };
    try {
      server = Bun.serve({ ...common, port: edgePart ? 0 : config.port, fetch: handler(plainUrl) } as Parameters<typeof Bun.serve>[0]);
      edge = edgePart?.listen({ hostname: config.host, port: config.port, inner: `127.0.0.1:${server.port}` });
    } catch (err) {
      throw listenError(err, config);
    }
    if (tls) {
      const tlsUrl = () => urlOf(config.host, tlsEdge?.port ?? tlsServer?.port ?? config.tls.port ?? 0, "https");
      try {
        if (edgePart) tlsEdge = edgePart.listen({ hostname: config.host, port: config.tls.port!, inner: `127.0.0.1:${server.port}`, tls: { cert: tls.cert, key: tls.key } });
        else tlsServer = Bun.serve({ ...common, port: config.tls.port, tls: { cert: tls.cert, key: tls.key }, fetch: handler(tlsUrl) } as Parameters<typeof Bun.serve>[0]);
      } catch (err) {
        throw listenError(err, config, config.tls.port);
      }
    }
    failpoint("start:listening", opts.env);
    for (const part of parts) {
      await part.start?.();
      started.push(part);
    }
    ready = true;
  } catch (err) {
    for (const part of started.reverse()) await part.stop?.().catch(() => {});
    await edge?.stop(true);
    await tlsEdge?.stop(true);
    server?.stop(true);
    tlsServer?.stop(true);
    store.close();
    throw err;
  }

  const srv = server!;
  const publicPort = edge?.port ?? srv.port!;
  const url = urlOf(config.host, publicPort);
  const tlsSrv = tlsServer;
  const tlsPort = tlsEdge?.port ?? tlsSrv?.port;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: publicPort,
    ...(tlsPort !== undefined && tls ? { tls: { url: urlOf(config.host, tlsPort, "https"), port: tlsPort, caFile: tls.caFile, fingerprint: tls.fingerprint } } : {}),
    store,
    parts,
    stop() {
      return (stopping ??= (async () => {
        ready = false;
        const drained = Promise.all([edge?.stop(false), tlsEdge?.stop(false), srv.stop(false), tlsSrv?.stop(false)]);
        const grace = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
        await Promise.race([drained, grace]);
        await edge?.stop(true);
        await tlsEdge?.stop(true);
        srv.stop(true);
        tlsSrv?.stop(true);
        for (const part of [...parts].reverse()) {
          await part.stop?.().catch((err: unknown) => logger.warn("part did not stop cleanly", { part: part.name, error: err }));
        }
        store.close();
      })());
    },
  };
}
