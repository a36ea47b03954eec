import { isIP } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const port = z.number().int().min(0).max(65535);

/** An IP address or CIDR block (`10.0.0.0/8`, `::1`, `fd00::/8`). */
const ipOrCidr = z.string().refine((v) => {
  const [ip, bits, extra] = v.split("/");
  const family = isIP(ip ?? "");
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}, "must be an IP address or CIDR block, e.g. 127.0.0.1 or 10.0.0.0/8");

/** One schema for all appliance configuration; every section has working defaults. */
export const ConfigSchema = z.object({
  dataDir: z.string().min(1).default(join(homedir(), ".eirini")),
  host: z.string().min(1).default("127.0.0.1"),
  port: port.default(7080),
  /**
   * Host names the API answers to, besides the listening address (and the
   * loopback names when listening on loopback). Other Hosts get a 404, which
   * closes the DNS-rebinding path. Empty on a wildcard listener means any.
   */
  apiHosts: z.array(z.string().min(1)).default([]),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  logFormat: z.enum(["text", "json"]).default("text"),
  backend: z.enum(["local", "kube"]).default("local"),
  /**
   * The URL users reach the appliance at (e.g. https://cf.example.com behind a proxy): every link the API,
   * UAA and log-cache hand out starts with it. Unset: links follow the listener a request came in on
   * (or X-Forwarded-Host/Proto from a trusted proxy).
   */
  externalUrl: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL, e.g. https://cf.example.com" })
    .refine((u) => { const x = new URL(u); return x.pathname === "/" && !x.search && !x.hash && !x.username; }, "must be scheme://host[:port] with no path, query or credentials")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  /**
   * Peers whose X-Forwarded-For/-Proto/-Host/-Port headers are believed (a TLS-terminating nginx or caddy, a
   * load balancer): IPs or CIDR blocks. One setting for both what the router passes to apps (gorouter's
   * rule: kept from these, replaced from anyone else) and the links the API hands out.
   */
  trustedProxies: z.array(ipOrCidr).default([]),
  /**
   * HTTPS on a second port (same API, registry, router, UI). Without certFile/keyFile the appliance makes
   * its own CA and server certificate on first start (under <dataDir>/secrets/tls, 0600) and prints the
   * CA's path and SHA-256 fingerprint.
   */
  tls: z
    .object({
      /** Unset: no TLS listener. 0 picks a free port. */
      port: port.optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      /** Extra DNS names or IPs for the generated server certificate (localhost, the listen host, externalUrl's host and *.router.domain are always in it). */
      hostnames: z.array(z.string().min(1)).default([]),
    })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), "certFile and keyFile go together: set both or neither")
    .prefault({}),
  /** How long shutdown waits for in-flight requests before closing anyway. */
  shutdownGraceMs: z.number().int().nonnegative().default(10_000),
  registry: z
    .object({
      maxUploadBytes: z.number().int().positive().default(8 * 1024 ** 3),
      maxManifestBytes: z.number().int().positive().default(4 * 1024 ** 2),
      anonymousPull: z.boolean().default(false),
      gcIntervalSec: z.number().int().nonnegative().default(3600),
      uploadExpirySec: z.number().int().positive().default(24 * 3600),
      /** Unreferenced blobs younger than this survive GC (a push may be about to reference them). */
      gcGraceSec: z.number().int().nonnegative().default(3600),
    })
    .prefault({}),
  staging: z
    .object({
      timeoutMs: z.number().int().positive().default(15 * 60_000),
      maxPackageBytes: z.number().int().positive().default(1024 ** 3),
      defaultStack: z.string().min(1).default("cflinuxfs4"),
      /** gzip level of droplets: 1 is fastest, 9 smallest. */
      dropletGzipLevel: z.number().int().min(1).max(9).default(6),
      /** PATH buildpacks see when staging locally (the local "stack"); default: eirini's own PATH. */
      stackPath: z.string().min(1).optional(),
      /** Runtime dependencies (node, python, ruby, go) for the built-in buildpacks: see `eirini runtimes`. */
      runtimes: z
        .object({
          /** Download a runtime missing from the store from `sources` when staging needs it (needs network; off by default). */
          download: z.boolean().default(false),
          /** Where each downloadable runtime comes from, checked against its sha256 (a CF buildpack manifest's dependencies). */
          sources: z
            .array(
              z.object({
                name: z.string().min(1),
                version: z.string().min(1),
                cf_stacks: z.array(z.string().min(1)).min(1),
                uri: z.string().url(),
                sha256: z.string().regex(/^[0-9a-f]{64}$/),
              }),
            )
            .default([]),
        })
        .prefault({}),
    })
    .prefault({}),
  cells: z
    .object({
      count: z.number().int().min(1).max(10_000).default(1),
      memoryMb: z.number().int().positive().default(16 * 1024),
      diskMb: z.number().int().positive().default(64 * 1024),
      maxInstances: z.number().int().positive().default(256),
      placementTags: z.array(z.string()).default([]),
      binPackWeight: z.number().min(0).default(0),
      /** Cells that differ from the uniform ones above (e.g. tagged); when set, they replace them. */
      list: z
        .array(
          z.object({
            name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).optional(),
            memoryMb: z.number().int().nonnegative().optional(),
            diskMb: z.number().int().nonnegative().optional(),
            maxInstances: z.number().int().nonnegative().optional(),
            placementTags: z.array(z.string()).optional(),
          }),
        )
        .default([]),
    })
    .prefault({}),
  /** The local backend's isolation (README "Containers on the local backend"). */
  local: z
    .object({
      /** container: every instance, task and staging in a runc container (falls back to process, with a warning, where impossible). */
      isolation: z.enum(["container", "process"]).default("container"),
      /** The containers' root filesystem: a directory, or the name of an imported stack (default: staging.defaultStack). */
      stack: z.string().min(1).optional(),
      /** Processes and threads per container (Diego's default). */
      pidsLimit: z.number().int().min(16).default(1024),
      /** How often each container's writable layer is measured against its disk limit. */
      diskPollMs: z.number().int().positive().default(5000),
    })
    .prefault({}),
  router: z
    .object({
      domain: z.string().min(1).default("apps.localhost"),
      /** No response head from an instance within this: 504 (gorouter's endpoint_timeout). */
      requestTimeoutMs: z.number().int().positive().default(900_000),
      /** Client connections with no request in flight are closed after this. */
      idleTimeoutMs: z.number().int().positive().default(120_000),
      /** One gorouter-format line per request in the app's log as [RTR/0]. */
      accessLog: z.boolean().default(true),
    })
    .prefault({}),
  sink: z
    .object({
      fullPassIntervalMs: z.number().int().positive().default(30_000),
      concurrency: z.number().int().positive().default(16),
    })
    .prefault({}),
  kube: z
    .object({
      kubeconfig: z.string().optional(),
      context: z.string().optional(),
      namespace: z.string().default("eirini"),
      registryAddress: z.string().optional(),
      ingressClass: z.string().optional(),
      /** An image with the `eirini` binary at /eirini, copied into app pods as their launcher. */
      launcherImage: z.string().optional(),
      /** Use the pod's service account instead of a kubeconfig (`eirini in-cluster` sets it). */
      inCluster: z.boolean().default(false),
      /** Router targets: pod IPs (in-cluster) or the API server's service proxy (laptop); auto picks by inCluster. */
      routeVia: z.enum(["auto", "pod-ip", "service-proxy"]).default("auto"),
      requestTimeoutMs: z.number().int().positive().default(30_000),
      pullSecret: z.string().default("eirini-registry"),
      /** The appliance's URL as pods reach it (VCAP_APPLICATION.cf_api, staging downloads); default: its own base URL. */
      publicUrl: z.string().optional(),
      /** Image staging Jobs run (the stack: needs sh, curl, tar, gzip, awk, mkfifo, sha256sum); `{stack}` becomes the staging's stack. */
      stagingImage: z.string().min(1).default("cloudfoundry/{stack}:latest"),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
