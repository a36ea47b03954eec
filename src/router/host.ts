/** Lower-case host without port or trailing dot ("MyApp.apps.localhost:7080" -> "myapp.apps.localhost"). */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** The Host a request was sent to: the Host header, else the URL's host. */
export function requestHost(req: Request): string {
  const header = req.headers.get("host");
  if (header) return normalizeHost(header);
  try {
    return normalizeHost(new URL(req.url).host);
  } catch {
    return "";
  }
}

/** True when `host` is a name under the route domain (e.g. x.apps.localhost under apps.localhost). */
export function underDomain(host: string, domain: string): boolean {
  const d = normalizeHost(domain);
  return host.length > d.length + 1 && host.endsWith(`.${d}`);
}
