import type { Server } from "bun";
import { Hono } from "hono";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { CliError } from "./command.ts";
import { firstStart } from "./first-start.ts";
import type { AppliancePart } from "../part/index.ts";
import { buildParts } from "./parts.ts";

export interface Appliance {
  readonly url: string;
  readonly port: number;
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

function listenError(err: unknown, config: Config): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") return new CliError(`port ${config.port} on ${config.host} is already in use`, 1, { cause: err });
  if (code === "EACCES") return new CliError(`not allowed to listen on ${config.host}:${config.port}`, 1, { cause: err });
  if (code === "EADDRNOTAVAIL") return new CliError(`address ${config.host} is not available on this machine`, 1, { cause: err });
  return new CliError(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`, 1, { cause: err });
}

/** http://host:port, with IPv6 hosts in brackets. */
function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Opens the store, runs first-start set-up, starts every part and the one HTTP server. */
export async function startAppliance(opts: StartOptions): Promise<Appliance> {
  const { config, logger } = opts;
  const store = openStore(config.dataDir);
  let server: Server<unknown> | undefined;
  let edge: { readonly port: number; stop(force?: boolean): Promise<void> } | undefined;
  let parts: AppliancePart[] = [];
  const started: AppliancePart[] = [];
  let ready = false;
  try {
    const first = await firstStart(store, opts.env);
    if (first.generatedAdminPassword) opts.onAdminPassword?.(first.generatedAdminPassword);
    const baseUrl = () => urlOf(config.host, edge?.port ?? server?.port ?? config.port);
    parts = await buildParts({ config, store, logger, tokenKey: first.tokenKey, baseUrl });

    const app = new Hono();
    app.get("/healthz", (c) => c.json({ status: "ok" }));
    app.get("/readyz", (c) => (ready ? c.json({ status: "ready" }) : c.json({ status: "starting" }, 503)));
    for (const part of parts) if (part.routes) app.route("/", part.routes);

    const doors = parts.flatMap((p) => (p.frontDoor ? [p.frontDoor] : []));
    const websocket = parts.find((p) => p.websocket)?.websocket;
    // With an edge (the router), the HTTP server listens on loopback behind it and the edge owns the public port.
    const edgePart = parts.find((p) => p.edge)?.edge;
    try {
      server = Bun.serve({
        hostname: edgePart ? "127.0.0.1" : config.host,
        port: edgePart ? 0 : config.port,
        maxRequestBodySize: Math.max(config.registry.maxUploadBytes, config.staging.maxPackageBytes),
        idleTimeout: 120,
        fetch(req, srv) {
          for (const door of doors) {
            const res = door(req, srv);
            if (res) return res;
          }
          return app.fetch(req, { server: srv });
        },
        ...(websocket ? { websocket } : {}),
      } as Parameters<typeof Bun.serve>[0]);
      edge = edgePart?.listen({ hostname: config.host, port: config.port, inner: `127.0.0.1:${server.port}` });
    } catch (err) {
      throw listenError(err, config);
    }
    for (const part of parts) {
      await part.start?.();
      started.push(part);
    }
    ready = true;
  } catch (err) {
    for (const part of started.reverse()) await part.stop?.().catch(() => {});
    await edge?.stop(true);
    server?.stop(true);
    store.close();
    throw err;
  }

  const srv = server!;
  const publicPort = edge?.port ?? srv.port!;
  const url = urlOf(config.host, publicPort);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: publicPort,
    store,
    parts,
    stop() {
      return (stopping ??= (async () => {
        ready = false;
        const drained = Promise.all([edge?.stop(false), srv.stop(false)]);
        const grace = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
        await Promise.race([drained, grace]);
        await edge?.stop(true);
        srv.stop(true);
        for (const part of [...parts].reverse()) {
          await part.stop?.().catch((err: unknown) => logger.warn("part did not stop cleanly", { part: part.name, error: err }));
        }
        store.close();
      })());
    },
  };
}
