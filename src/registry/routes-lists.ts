import { MediaType } from "./media-types.ts";
import { nameUnknown } from "./errors.ts";
import { API_VERSION, intParam, type RegistryRequest } from "./http-common.ts";
import { assertDigest } from "../store/index.ts";

/** Fetches one more than asked for, to know whether to send a `Link: rel="next"`. */
function page(items: string[], n: number | undefined, url: URL, last: (item: string) => string): { items: string[]; link?: string } {
  if (n === undefined || items.length <= n) return { items };
  const shown = items.slice(0, n);
  const next = new URL(url.pathname, url.origin);
  next.searchParams.set("n", String(n));
  next.searchParams.set("last", last(shown.at(-1)!));
  return { items: shown, link: `<${next.pathname}${next.search}>; rel="next"` };
}

const limit = (n: number | undefined) => (n === undefined ? -1 : n + 1);

/** `GET /v2/<name>/tags/list?n=&last=` */
export function listTags(r: RegistryRequest): Response {
  const n = intParam(r.url, "n");
  const last = r.url.searchParams.get("last") ?? undefined;
  if (!r.registry.meta.repositoryExists(r.name)) throw nameUnknown(r.name);
  const { items, link } = page(n === 0 ? [] : r.registry.meta.tags(r.name, limit(n), last), n, r.url, (t) => t);
  return Response.json({ name: r.name, tags: items }, { headers: { ...API_VERSION, ...(link ? { Link: link } : {}) } });
}

/** `GET /v2/_catalog?n=&last=` */
export function catalog(r: Omit<RegistryRequest, "name">): Response {
  const n = intParam(r.url, "n");
  const last = r.url.searchParams.get("last") ?? undefined;
  const { items, link } = page(n === 0 ? [] : r.registry.meta.catalog(limit(n), last), n, r.url, (t) => t);
  return Response.json({ repositories: items }, { headers: { ...API_VERSION, ...(link ? { Link: link } : {}) } });
}

/** `GET /v2/<name>/referrers/<digest>?artifactType=`: an image index of manifests whose subject is `digest`. */
export function referrers(r: RegistryRequest, digest: string): Response {
  assertDigest(digest);
  const filter = r.url.searchParams.get("artifactType");
  const all = r.registry.meta.referrers(r.name, digest);
  const chosen = filter ? all.filter((m) => m.artifactType === filter) : all;
  const manifests = chosen.map((m) => {
    const json = JSON.parse(new TextDecoder().decode(m.content)) as { annotations?: Record<string, string> };
    return { mediaType: m.mediaType, digest: m.digest, size: m.size, ...(m.artifactType ? { artifactType: m.artifactType } : {}), ...(json.annotations ? { annotations: json.annotations } : {}) };
  });
  return new Response(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }), {
    headers: { ...API_VERSION, "Content-Type": MediaType.ociIndex, ...(filter ? { "OCI-Filters-Applied": "artifactType" } : {}) },
  });
}
