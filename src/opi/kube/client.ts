import type * as K8s from "@kubernetes/client-node";
import { describeForbidden, KubeApiError, KubeUnavailableError } from "./errors.ts";

/**
 * The backend's only door to the API server: a thin, kind-keyed wrapper
 * over the real `@kubernetes/client-node` typed APIs (CRUD, lists with
 * pages) and its `Watch` (streams). Every call has a timeout; failures
 * become KubeApiError (with verb and resource) or KubeUnavailableError.
 * client-node is loaded with a dynamic import, so nothing on the path of
 * `eirini local` with the local backend pays for it.
 */
export type Kind = "statefulsets" | "pods" | "services" | "secrets" | "events" | "jobs" | "poddisruptionbudgets" | "ingresses";
export type Obj = Record<string, any>;

export interface ListPage {
  items: Obj[];
  resourceVersion: string;
  continue?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface WatchHandle {
  abort(): void;
}

export interface KubeClient {
  readonly namespace: string;
  readonly server: string;
  create(kind: Kind, obj: Obj): Promise<Obj>;
  replace(kind: Kind, name: string, obj: Obj): Promise<Obj>;
  /** JSON merge patch; include `metadata.resourceVersion` for optimistic concurrency. */
  patch(kind: Kind, name: string, patch: Obj): Promise<Obj>;
  /** Resolves false when it was already gone. */
  delete(kind: Kind, name: string, opts?: { propagation?: "Background" | "Foreground" | "Orphan"; gracePeriodSeconds?: number }): Promise<boolean>;
  get(kind: Kind, name: string): Promise<Obj | null>;
  list(kind: Kind, opts?: ListOptions): Promise<ListPage>;
  watch(kind: Kind, opts: { labelSelector?: string; fieldSelector?: string; resourceVersion: string; timeoutSeconds?: number }, onEvent: (type: string, obj: Obj) => void, onDone: (err: unknown) => void): Promise<WatchHandle>;
  /** SelfSubjectAccessReview for one verb on a resource in the namespace. */
  canI(verb: string, resource: string, group: string): Promise<boolean>;
  /** A pod's log as a stream of text chunks (follow: until the container ends). */
  /** `GET pods/<name>/log`: `timestamps` prefixes each line with its RFC3339Nano time; `sinceTime` (RFC3339) skips older lines. */
  podLog(name: string, opts: { follow: boolean; container?: string; signal?: AbortSignal; timestamps?: boolean; sinceTime?: string }): Promise<ReadableStream<Uint8Array>>;
  /** GET /version: proves the server answers and the credentials work. */
  version(): Promise<string>;
  /** A raw request with the kubeconfig's credentials (service proxy). */
  fetch(url: string, init: { method: string; headers: Record<string, string>; body?: ArrayBuffer }): Promise<any>;
}

export interface ClientOptions {
  kubeconfig?: string;
  context?: string;
  /** Use the pod's service account (in-cluster). */
  inCluster?: boolean;
  namespace: string;
  timeoutMs?: number;
}

const API: Record<Kind, { api: "core" | "apps" | "batch" | "policy" | "networking"; suffix: string; path: string }> = {
  statefulsets: { api: "apps", suffix: "NamespacedStatefulSet", path: "/apis/apps/v1" },
  pods: { api: "core", suffix: "NamespacedPod", path: "/api/v1" },
  services: { api: "core", suffix: "NamespacedService", path: "/api/v1" },
  secrets: { api: "core", suffix: "NamespacedSecret", path: "/api/v1" },
  events: { api: "core", suffix: "NamespacedEvent", path: "/api/v1" },
  jobs: { api: "batch", suffix: "NamespacedJob", path: "/apis/batch/v1" },
  poddisruptionbudgets: { api: "policy", suffix: "NamespacedPodDisruptionBudget", path: "/apis/policy/v1" },
  ingresses: { api: "networking", suffix: "NamespacedIngress", path: "/apis/networking.k8s.io/v1" },
};

/** `statefulsets.apps`-style names for messages. */
const GROUP: Record<Kind, string> = { statefulsets: "apps", pods: "", services: "", secrets: "", events: "", jobs: "batch", poddisruptionbudgets: "policy", ingresses: "networking.k8s.io" };

function parseBody(body: unknown): { message: string; reason: string } {
  try {
    const b = typeof body === "string" ? JSON.parse(body) : body;
    return { message: String(b?.message ?? ""), reason: String(b?.reason ?? "") };
  } catch {
    return { message: typeof body === "string" ? body.slice(0, 200) : "", reason: "" };
  }
}

export function loadKubeConfig(k8s: typeof K8s, o: Pick<ClientOptions, "kubeconfig" | "context" | "inCluster">): K8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (o.inCluster) kc.loadFromCluster();
  else if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context) {
    if (!kc.getContextObject(o.context)) throw new Error(`kubeconfig has no context ${JSON.stringify(o.context)} (contexts: ${kc.getContexts().map((c) => c.name).join(", ") || "none"})`);
    kc.setCurrentContext(o.context);
  }
  if (!kc.getCurrentCluster()) throw new Error("kubeconfig has no current cluster; set a context (kube.context) or KUBECONFIG");
  return kc;
}

export async function createKubeClient(o: ClientOptions): Promise<KubeClient> {
  const k8s = await import("@kubernetes/client-node");
  const kc = loadKubeConfig(k8s, o);
  const server = kc.getCurrentCluster()!.server;
  const ns = o.namespace;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const apis = {
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
  };
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const watcher = new k8s.Watch(kc);
  // Call-time middleware is observable-shaped (client-node's rxjs stub), like setHeaderOptions'.
  const timeout = (): K8s.ConfigurationOptions => ({
    middleware: [
      {
        pre: (ctx: K8s.RequestContext) => (ctx.setSignal(AbortSignal.timeout(timeoutMs)), new k8s.Observable(Promise.resolve(ctx))),
        post: (r: K8s.ResponseContext) => new k8s.Observable(Promise.resolve(r)),
      },
    ],
    middlewareMergeStrategy: "append",
  });

  const wrap = (err: unknown, verb: string, kind: string): Error => {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "number" && code >= 100) {
      const { message, reason } = parseBody((err as { body?: unknown }).body);
      const resource = kind;
      const msg = code === 403 ? describeForbidden(verb, resource, ns, message) : `${verb} ${resource} in ${ns}: ${message || `HTTP ${code}`}`;
      return new KubeApiError(msg, code, reason || String(code), verb, resource, { cause: err });
    }
    const e = err as Error;
    const what = e?.name === "TimeoutError" || e?.name === "AbortError" ? `no answer within ${timeoutMs} ms` : (e?.message ?? String(err));
    return new KubeUnavailableError(`Kubernetes API server at ${server} is unreachable (${verb} ${kind}): ${what}`, { cause: err });
  };

  const call = async <T>(verb: string, kind: Kind, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw wrap(err, verb, kind);
    }
  };

  const nodeFetch = ((await import("node-fetch")) as unknown as { default: (u: string, i: Obj) => Promise<any> }).default;
  /** A request with the kubeconfig's credentials and TLS settings, body left raw. */
  const rawFetch = async (url: URL, init: Obj) => {
    const base = (await kc.applyToFetchOptions({})) as Obj;
    const headers = new Headers(base.headers);
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers.set(k, v);
    return nodeFetch(url.toString(), { ...base, ...init, headers });
  };

  const api = (kind: Kind) => apis[API[kind].api] as unknown as Record<string, (params: Obj, opts?: unknown) => Promise<any>>;
  const method = (verb: string, kind: Kind) => `${verb}${API[kind].suffix}`;

  return {
    namespace: ns,
    server,
    create: (kind, body) => call("create", kind, () => api(kind)[method("create", kind)]!({ namespace: ns, body }, timeout())),
    replace: (kind, name, body) => call("update", kind, () => api(kind)[method("replace", kind)]!({ name, namespace: ns, body }, timeout())),
    patch: (kind, name, body) =>
      call("patch", kind, () => api(kind)[method("patch", kind)]!({ name, namespace: ns, body }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch, timeout()))),
    async delete(kind, name, opts = {}) {
      try {
        await call("delete", kind, () =>
          api(kind)[method("delete", kind)]!({ name, namespace: ns, propagationPolicy: opts.propagation ?? "Background", ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}) }, timeout()),
        );
        return true;
      } catch (err) {
        if (err instanceof KubeApiError && err.notFound) return false;
        throw err;
      }
    },
    async get(kind, name) {
      try {
        return await call("get", kind, () => api(kind)[method("read", kind)]!({ name, namespace: ns }, timeout()));
      } catch (err) {
        if (err instanceof KubeApiError && err.notFound) return null;
        throw err;
      }
    },
    async list(kind, opts = {}) {
      // Lists feed the informers: read as plain JSON over client-node's own
      // transport (as its Watch does) instead of through the typed models,
      // whose per-field deserialization costs 4x the time and memory at 30,000 pods.
      const url = new URL(`${server}${API[kind].path}/namespaces/${ns}/${kind}`);
      if (opts.labelSelector) url.searchParams.set("labelSelector", opts.labelSelector);
      if (opts.fieldSelector) url.searchParams.set("fieldSelector", opts.fieldSelector);
      if (opts.limit) url.searchParams.set("limit", String(opts.limit));
      if (opts.continue) url.searchParams.set("continue", opts.continue);
      const res = await call("list", kind, async () => {
        const r = await rawFetch(url, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
        const text = await r.text();
        if (r.status !== 200) throw Object.assign(new Error(`HTTP ${r.status}`), { code: r.status, body: text });
        return JSON.parse(text) as Obj;
      });
      return { items: res.items ?? [], resourceVersion: res.metadata?.resourceVersion ?? "", continue: res.metadata?.continue || undefined };
    },
    async watch(kind, opts, onEvent, onDone) {
      const path = `${API[kind].path}/namespaces/${ns}/${kind}`;
      const params: Record<string, string | number> = { resourceVersion: opts.resourceVersion, allowWatchBookmarks: "false" };
      if (opts.labelSelector) params.labelSelector = opts.labelSelector;
      if (opts.fieldSelector) params.fieldSelector = opts.fieldSelector;
      if (opts.timeoutSeconds) params.timeoutSeconds = opts.timeoutSeconds;
      let done = false;
      const finish = (err: unknown) => {
        if (done) return;
        done = true;
        const code = (err as { statusCode?: number } | null)?.statusCode;
        onDone(err ? (typeof code === "number" ? new KubeApiError(code === 403 ? describeForbidden("watch", kind, ns, "") : `watch ${kind}: HTTP ${code}`, code, String(code), "watch", kind, { cause: err }) : wrap(err, "watch", kind)) : null);
      };
      try {
        const controller = await watcher.watch(path, params, (type, obj) => onEvent(type, obj), finish);
        return { abort: () => (finish(null), controller.abort()) };
      } catch (err) {
        finish(err);
        return { abort: () => {} };
      }
    },
    async canI(verb, resource, group) {
      const res = await call("create", "selfsubjectaccessreviews" as Kind, () =>
        authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb, resource, group, namespace: ns } } } }, timeout()),
      );
      return res.status?.allowed === true;
    },
    async podLog(name, opts) {
      const cluster = kc.getCurrentCluster()!;
      const url = new URL(`${cluster.server}/api/v1/namespaces/${ns}/pods/${encodeURIComponent(name)}/log`);
      if (opts.follow) url.searchParams.set("follow", "true");
      if (opts.container) url.searchParams.set("container", opts.container);
      if (opts.timestamps) url.searchParams.set("timestamps", "true");
      if (opts.sinceTime) url.searchParams.set("sinceTime", opts.sinceTime);
      const res = await call("get", "pods", async () => {
        const r = await rawFetch(url, { method: "GET", signal: opts.signal });
        if (r.status !== 200) throw Object.assign(new Error(`HTTP ${r.status}`), { code: r.status, body: await r.text() });
        return r;
      });
      const body = res.body as AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
      if (body instanceof ReadableStream) return body;
      return new ReadableStream<Uint8Array>({
        async start(controller) {
          try {
            for await (const chunk of body as AsyncIterable<Uint8Array>) controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
            controller.close();
          } catch (err) {
            controller.error(err);
          }
        },
      });
    },
    fetch: (url, init) => rawFetch(new URL(url), init),
    async version() {
      const v = kc.makeApiClient(k8s.VersionApi);
      const info = await call("get", "version" as Kind, () => v.getCode(timeout()));
      return info.gitVersion;
    },
  };
}

export { GROUP as KIND_GROUP };
