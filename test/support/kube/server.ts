import { applyDefaults } from "./defaults.ts";
import { dropOmitted } from "./omitempty.ts";
import type { LogQuery } from "./pod-logs.ts";
import type { Faults, RequestCounter } from "./faults.ts";
import type { ObjectStore, Obj, Watcher } from "./object-store.ts";
import { jsonPatch, mergePatch } from "./patch.ts";
import { apiVersion, resourceFor, resources, type ResourceInfo } from "./resources.ts";
import { fromLabelSelector, matches, parseFieldSelector, parseLabelSelector, SelectorError } from "./selector.ts";
import { ApiError, badRequest, forbidden, internalError, invalid, methodNotAllowed, notFound, unsupportedMediaType } from "./status.ts";
import { validate } from "./validation.ts";

/**
 * The REST surface of the emulated API server: routing of `/api/v1/...` and
 * `/apis/<group>/<version>/...` paths to verbs on the object store, with the
 * real server's status codes and Status bodies, list (+limit/continue),
 * watch streams, status subresource, patches, deletion options, RBAC and
 * fault injection. Controllers react to writes through the store.
 */
export interface ServerDeps {
  store: ObjectStore;
  faults: Faults;
  counter: RequestCounter;
  token: string;
  user: string;
  /** Where the service proxy sends a request for a pod (null: no endpoint). */
  podEndpoint(pod: Obj, port: number | string): string | null;
  /** Log text of a pod's container, and whether more may follow. */
  podLogs(ns: string, name: string, q: LogQuery, signal: AbortSignal): ReadableStream<Uint8Array> | null;
  /** Called with (resource, namespace, deleted object, propagation) after a delete. */
  onDelete(resource: string, ns: string, obj: Obj, propagation: string): void;
}

const enc = new TextEncoder();

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function errorResponse(err: unknown): Response {
  if (err instanceof ApiError) return json(err.body, err.body.code);
  if (err instanceof SelectorError) return json(badRequest(err.message).body, 400);
  return json(internalError((err as Error)?.message ?? String(err)).body, 500);
}

interface Route {
  info: ResourceInfo;
  namespace: string | undefined;
  name?: string;
  sub?: string;
  rest: string[];
}

function parsePath(pathname: string): Route | "ssar" | undefined {
  const seg = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string, version: string, rest: string[];
  if (seg[0] === "api" && seg[1] === "v1") [group, version, rest] = ["", "v1", seg.slice(2)];
  else if (seg[0] === "apis" && seg.length >= 3) [group, version, rest] = [seg[1]!, seg[2]!, seg.slice(3)];
  else return undefined;
  if (group === "authorization.k8s.io" && version === "v1" && rest[0] === "selfsubjectaccessreviews" && rest.length === 1) return "ssar";
  if (rest[0] === "namespaces" && rest.length >= 3 && group + rest[2] !== "status" && rest[2] !== "status" && rest[2] !== "finalize") {
    const info = resourceFor(group, version, rest[2]!);
    if (!info || !info.namespaced) return undefined;
    return { info, namespace: rest[1], name: rest[3], sub: rest[4], rest: rest.slice(5) };
  }
  const info = resourceFor(group, version, rest[0] ?? "");
  if (!info) return undefined;
  if (!info.namespaced) return { info, namespace: undefined, name: rest[1], sub: rest[2], rest: [] };
  if (rest.length === 1) return { info, namespace: undefined, rest: [] };
  return undefined;
}

function verbOf(method: string, r: Route, url: URL): string {
  switch (method) {
    case "GET":
      if (r.name) return "get";
      return url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1" ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return r.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

async function readJson(req: Request): Promise<any> {
  const text = await req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("the body of the request could not be parsed as JSON");
  }
}

function filterFor(url: URL): (o: Obj) => boolean {
  const labels = parseLabelSelector(url.searchParams.get("labelSelector"));
  const fields = parseFieldSelector(url.searchParams.get("fieldSelector"));
  return (o) => matches(labels, o.metadata?.labels) && (!fields || fields(o));
}

function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

export function createHandler(d: ServerDeps): (req: Request) => Promise<Response> {
  const nsInfo = resources.get("namespaces")!;

  const ensureNamespace = (ns: string | undefined) => {
    if (ns !== undefined && !d.store.get(nsInfo, "", ns)) throw notFound(nsInfo, ns);
  };

  function prepare(r: Route, body: any, old?: Obj): Obj {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("request body must be a JSON object");
    const obj = structuredClone(body) as Obj;
    obj.apiVersion = apiVersion(r.info);
    obj.kind = r.info.kind;
    obj.metadata ??= {};
    if (r.namespace !== undefined && obj.metadata.namespace !== undefined && obj.metadata.namespace !== r.namespace)
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (!old && !obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomSuffix();
    if (old && r.name && obj.metadata.name === undefined) obj.metadata.name = r.name;
    if (r.info.resource === "jobs" && !old) {
      // The job controller's selector and labels (manualSelector unset).
      const uid = crypto.randomUUID();
      obj.metadata.labels = { ...obj.metadata.labels };
      obj.spec ??= {};
      obj.spec.selector ??= { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
      obj.spec.template ??= {};
      obj.spec.template.metadata ??= {};
      obj.spec.template.metadata.labels = {
        ...obj.spec.template.metadata.labels,
        "batch.kubernetes.io/controller-uid": obj.spec.selector.matchLabels?.["batch.kubernetes.io/controller-uid"] ?? uid,
        "batch.kubernetes.io/job-name": obj.metadata.name,
        "controller-uid": obj.spec.selector.matchLabels?.["batch.kubernetes.io/controller-uid"] ?? uid,
        "job-name": obj.metadata.name,
      };
    }
    // The apiserver decodes into Go structs (an omitted field is its zero value), applies the
    // defaulting functions (which fill zero values), and encodes with omitempty: drop, default, drop.
    dropOmitted(r.info.resource, obj);
    if (obj.spec !== undefined || r.info.resource === "pods") {
      obj.spec ??= {};
      applyDefaults(r.info.resource, obj);
    } else if (r.info.resource === "secrets") applyDefaults("secrets", obj);
    dropOmitted(r.info.resource, obj);
    if (r.info.statusSubresource && r.info.resource !== "pods") {
      if (old) obj.status = old.status;
      else delete obj.status;
    }
    if (r.info.resource === "pods" && old) obj.status = old.status;
    if (r.info.resource === "services") {
      // The allocator's clusterIP is immutable; clusterIPs mirrors it (dual-stack field, v1.20+).
      if (old) obj.spec.clusterIP = old.spec?.clusterIP;
      else obj.spec.clusterIP ??= `10.96.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
      obj.spec.clusterIPs = [obj.spec.clusterIP];
    }
    if (r.info.resource === "namespaces" && !old) obj.status = { phase: "Active" };
    const errors = validate(r.info, obj, old);
    if (errors.length > 0) throw invalid(r.info, obj.metadata.name ?? "", errors);
    return obj;
  }

  function list(r: Route, url: URL): Response {
    const filter = filterFor(url);
    const limit = Number(url.searchParams.get("limit") ?? "0");
    const cont = url.searchParams.get("continue");
    let rv = String(d.store.resourceVersion);
    // etcd order: keys sorted; a continue token carries the last key and the list's version.
    const keys = d.store.keysInOrder(r.info);
    let i = 0;
    if (cont) {
      let after: { rv: string; key: string };
      try {
        after = JSON.parse(atob(cont));
      } catch {
        throw badRequest("continue key is not valid");
      }
      rv = after.rv;
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid]! <= after.key) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const prefix = r.namespace === undefined ? "" : `${r.namespace}/`;
    const items: Obj[] = [];
    let next: string | undefined;
    for (; i < keys.length; i++) {
      const k = keys[i]!;
      if (prefix && !k.startsWith(prefix)) continue;
      const o = d.store.byKey(r.info, k);
      if (!o || !filter(o)) continue;
      if (limit > 0 && items.length === limit) {
        const last = items[items.length - 1]!;
        next = btoa(JSON.stringify({ rv, key: `${last.metadata.namespace ?? ""}/${last.metadata.name}` }));
        break;
      }
      items.push(o);
    }
    return json({ kind: `${r.info.kind}List`, apiVersion: apiVersion(r.info), metadata: { resourceVersion: rv, ...(next ? { continue: next } : {}) }, items });
  }

  function watch(r: Route, url: URL, signal: AbortSignal): Response {
    const filter = filterFor(url);
    const timeout = Number(url.searchParams.get("timeoutSeconds") ?? "0");
    let w: Watcher | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let closed = false;
        w = {
          resource: r.info.resource,
          namespace: r.namespace,
          filter,
          send(type, object) {
            if (!closed) controller.enqueue(enc.encode(JSON.stringify({ type, object }) + "\n"));
          },
          close() {
            if (closed) return;
            closed = true;
            d.store.watchers.delete(w!);
            if (timer) clearTimeout(timer);
            try {
              controller.close();
            } catch {
              // already closed by the client
            }
          },
        };
        // Bun.serve sends the status line only with the first body bytes; a real
        // API server answers 200 at once, so a blank line (skipped by clients'
        // line readers) goes first.
        controller.enqueue(enc.encode("\n"));
        d.store.watch(r.info, r.namespace, url.searchParams.get("resourceVersion") ?? undefined, w);
        if (timeout > 0) timer = setTimeout(() => w?.close(), timeout * 1000);
        signal.addEventListener("abort", () => w?.close(), { once: true });
      },
      cancel() {
        w?.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "application/json", "transfer-encoding": "chunked" } });
  }

  async function write(req: Request, r: Route, verb: string, url: URL): Promise<Response> {
    const { info, namespace } = r;
    const ns = namespace ?? "";
    const status = r.sub === "status";
    if (r.sub && !status) throw notFound(info, `${r.name}/${r.sub}`);
    if (verb === "create") {
      if (r.name) throw methodNotAllowed();
      ensureNamespace(namespace);
      const obj = prepare(r, await readJson(req));
      if (url.searchParams.get("dryRun") === "All") return json(obj, 201);
      return json(d.store.create(info, ns, obj), 201);
    }
    const old = d.store.mustGet(info, ns, r.name!);
    if (verb === "delete") {
      const opts = (await readJson(req)) ?? {};
      const propagation = url.searchParams.get("propagationPolicy") ?? opts.propagationPolicy ?? (opts.orphanDependents ? "Orphan" : info.resource === "jobs" ? "Orphan" : "Background");
      const gone = d.store.delete(info, ns, r.name!, opts.preconditions?.resourceVersion, opts.preconditions?.uid);
      d.onDelete(info.resource, ns, gone, propagation);
      return json(gone);
    }
    let body: any;
    if (verb === "update") body = await readJson(req);
    else {
      const ct = (req.headers.get("content-type") ?? "").split(";")[0]!.trim();
      const patch = await readJson(req);
      if (ct === "application/merge-patch+json") body = mergePatch(old, patch);
      else if (ct === "application/strategic-merge-patch+json") body = mergePatch(old, patch, true);
      else if (ct === "application/json-patch+json") body = jsonPatch(old, patch);
      else throw unsupportedMediaType(ct);
    }
    const expectRv = body?.metadata?.resourceVersion as string | undefined;
    if (status) {
      if (!info.statusSubresource) throw notFound(info, `${r.name}/status`);
      const next = { ...old, status: body?.status };
      return json(d.store.replace(info, ns, r.name!, next, expectRv));
    }
    const next = prepare(r, body, old);
    if (verb === "patch" && expectRv === old.metadata.resourceVersion) next.metadata.resourceVersion = undefined;
    return json(d.store.replace(info, ns, r.name!, next, verb === "update" ? expectRv : (patchPrecondition(body, old) ?? undefined)));
  }

  /** A patch carrying metadata.resourceVersion is a precondition (optimistic concurrency). */
  function patchPrecondition(body: Obj, old: Obj): string | null {
    return body?.metadata?.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion ? body.metadata.resourceVersion : null;
  }

  async function proxy(req: Request, r: Route): Promise<Response> {
    const [svcName, portRaw] = r.name!.split(":").slice(-2).length === 2 && r.name!.includes(":") ? [r.name!.split(":").at(-2)!, r.name!.split(":").at(-1)!] : [r.name!, ""];
    const svc = d.store.mustGet(r.info, r.namespace!, svcName);
    const ports: Obj[] = svc.spec?.ports ?? [];
    const port = portRaw ? ports.find((p) => String(p.port) === portRaw || p.name === portRaw) : ports[0];
    if (!port) throw badRequest(`no such port ${portRaw} on service ${svcName}`);
    const sel = svc.spec?.selector ?? {};
    const podInfo = resources.get("pods")!;
    const pods = d.store
      .list(podInfo, r.namespace)
      .filter((p) => Object.keys(sel).length > 0 && matches(fromLabelSelector({ matchLabels: sel }), p.metadata.labels))
      .filter((p) => p.status?.phase === "Running" && (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True"));
    for (const pod of pods) {
      const base = d.podEndpoint(pod, port.targetPort ?? port.port);
      if (!base) continue;
      const u = new URL(req.url);
      const target = base.replace(/\/$/, "") + "/" + r.rest.map(encodeURIComponent).join("/") + u.search;
      const headers = new Headers(req.headers);
      headers.delete("authorization");
      headers.delete("host");
      return fetch(target, { method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(), redirect: "manual" });
    }
    return json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `no endpoints available for service "${svcName}"`, reason: "ServiceUnavailable", code: 503 }, 503);
  }

  return async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    try {
      if (req.headers.get("authorization") !== `Bearer ${d.token}`)
        return json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 }, 401);
      if (url.pathname === "/version") return json({ major: "1", minor: "31", gitVersion: "v1.31.0-eirini-emulator" });
      const r = parsePath(url.pathname);
      if (r === undefined) throw json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "the server could not find the requested resource", reason: "NotFound", code: 404 }, 404);
      if (r === "ssar") {
        if (req.method !== "POST") throw methodNotAllowed();
        d.counter.add("create", "selfsubjectaccessreviews");
        const body = await readJson(req);
        const attrs = body?.spec?.resourceAttributes ?? {};
        const allowed = !d.faults.isForbidden(attrs.verb ?? "", attrs.resource ?? "");
        return json({ kind: "SelfSubjectAccessReview", apiVersion: "authorization.k8s.io/v1", metadata: {}, spec: body?.spec ?? {}, status: { allowed, ...(allowed ? {} : { reason: "emulator RBAC denies it" }) } }, 201);
      }
      const verb = r.sub === "proxy" ? "proxy" : r.sub === "log" ? "get" : verbOf(req.method, r, url);
      const resource = r.sub && r.sub !== "status" ? `${r.info.resource}/${r.sub}` : r.info.resource;
      d.counter.add(verb, resource);
      if (d.faults.isForbidden(verb, r.info.resource) || d.faults.isForbidden(verb, resource)) throw forbidden(r.info, verb, r.namespace ?? "", d.user);
      const fault = d.faults.take(verb, r.info.resource);
      if (fault?.kind === "status") return json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `injected fault: ${fault.code}`, reason: fault.code === 500 ? "InternalError" : fault.code === 504 ? "Timeout" : "ServiceUnavailable", code: fault.code }, fault.code);
      if (fault?.kind === "hang") {
        await d.faults.held(req.signal);
        return json(internalError("request was held by an injected fault").body, 500);
      }
      if (r.sub === "proxy" && r.info.resource === "services") return await proxy(req, r);
      if (r.sub === "log" && r.info.resource === "pods") {
        d.store.mustGet(r.info, r.namespace!, r.name!);
        const q = url.searchParams;
        const tail = q.get("tailLines");
        const s = d.podLogs(
          r.namespace!,
          r.name!,
          { follow: q.get("follow") === "true", timestamps: q.get("timestamps") === "true", previous: q.get("previous") === "true", sinceTime: q.get("sinceTime") ?? undefined, tailLines: tail ? Number(tail) : undefined },
          req.signal,
        );
        if (!s) throw badRequest(`container in pod "${r.name}" is waiting to start: ContainerCreating`);
        return new Response(s, { headers: { "content-type": "text/plain" } });
      }
      switch (verb) {
        case "get": {
          if (r.sub && r.sub !== "status") throw notFound(r.info, r.name!);
          return json(d.store.mustGet(r.info, r.namespace ?? "", r.name!));
        }
        case "list":
          return list(r, url);
        case "watch":
          return watch(r, url, req.signal);
        case "create":
        case "update":
        case "patch":
        case "delete":
          return await write(req, r, verb, url);
        case "deletecollection": {
          const filter = filterFor(url);
          const gone = d.store.list(r.info, r.namespace).filter(filter).map((o) => d.store.delete(r.info, r.namespace ?? "", o.metadata.name));
          for (const g of gone) d.onDelete(r.info.resource, r.namespace ?? "", g, "Background");
          return json({ kind: `${r.info.kind}List`, apiVersion: apiVersion(r.info), metadata: { resourceVersion: String(d.store.resourceVersion) }, items: gone });
        }
        default:
          throw methodNotAllowed();
      }
    } catch (err) {
      if (err instanceof Response) return err;
      return errorResponse(err);
    }
  };
}
