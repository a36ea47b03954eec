import { normalizeHost } from "../model/index.ts";

export { normalizeHost };

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
