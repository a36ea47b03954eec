import type { Server } from "bun";
import { Hono } from "hono";
import { failpoint, type Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { CliError } from "./command.ts";
import { firstStart } from "./first-start.ts";
import type { AppliancePart } from "../part/index.ts";
import { buildParts } from "./parts.ts";
import { PublicUrls } from "./public-url.ts";
import { tlsMaterial, type TlsMaterial } from "./tls-cert.ts";

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
  let tlsServer: Server<unknown> | undefined;
  let tls: TlsMaterial | undefined;
  let parts: AppliancePart[] = [];
  const started: AppliancePart[] = [];
  let ready = false;
  try {
    const first = await firstStart(store, opts.env);
    if (first.generatedAdminPassword) opts.onAdminPassword?.(first.generatedAdminPassword);
    failpoint("start:first-start-done", opts.env);
    const plainUrl = () => urlOf(config.host, server?.port ?? config.port);
    const urls = new PublicUrls({ externalUrl: config.externalUrl, trustedProxies: config.trustedProxies }, plainUrl);
    if (config.tls.port !== undefined) tls = tlsMaterial(config);
    parts = await buildParts({ config, store, logger, tokenKey: first.tokenKey, baseUrl: () => urls.baseUrl() });

    const app = new Hono();
    app.get("/healthz", (c) => c.json({ status: "ok" }));
    app.get("/readyz", (c) => (ready ? c.json({ status: "ready" }) : c.json({ status: "starting" }, 503)));
    for (const part of parts) if (part.routes) app.route("/", part.routes);

    const doors = parts.flatMap((p) => (p.frontDoor ? [p.frontDoor] : []));
    const websocket = parts.find((p) => p.websocket)?.websocket;
    // One handler for both listeners; links in answers follow the listener (or externalUrl, or a trusted proxy: public-url.ts).
    const handler = (listenerUrl: () => string) => (req: Request, srv: Server<unknown>) =>
      urls.run(req, srv.requestIP(req)?.address, listenerUrl(), () => {
        for (const door of doors) {
          const res = door(req, srv);
          if (res) return res;
        }
        return app.fetch(req, { server: srv });
      });
    const common = {
      hostname: config.host,
      maxRequestBodySize: Math.max(config.registry.maxUploadBytes, config.staging.maxPackageBytes),
      idleTimeout: 120,
      ...(websocket ? { websocket } : {}),
    };
    try {
      server = Bun.serve({ ...common, port: config.port, fetch: handler(plainUrl) } as Parameters<typeof Bun.serve>[0]);
    } catch (err) {
      throw listenError(err, config);
    }
    if (tls) {
      const tlsUrl = () => urlOf(config.host, tlsServer?.port ?? config.tls.port ?? 0, "https");
      try {
        tlsServer = Bun.serve({ ...common, port: config.tls.port, tls: { cert: tls.cert, key: tls.key }, fetch: handler(tlsUrl) } as Parameters<typeof Bun.serve>[0]);
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
    server?.stop(true);
    tlsServer?.stop(true);
    store.close();
    throw err;
  }

  const srv = server!;
  const url = urlOf(config.host, srv.port!);
  const tlsSrv = tlsServer;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: srv.port!,
    ...(tlsSrv && tls ? { tls: { url: urlOf(config.host, tlsSrv.port!, "https"), port: tlsSrv.port!, caFile: tls.caFile, fingerprint: tls.fingerprint } } : {}),
    store,
    parts,
    stop() {
      return (stopping ??= (async () => {
        ready = false;
        const drained = Promise.all([srv.stop(false), tlsSrv?.stop(false)]);
        const grace = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
        await Promise.race([drained, grace]);
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
