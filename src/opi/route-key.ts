import { normalizeHost } from "../model/index.ts";

/**
 * A route entry's hostname as CF's route emitter receives it: "host" or
 * "host/path" (a route with a path). The host is compared case-insensitively
 * without port; the path too is compared case-insensitively (gorouter
 * lowercases the whole route key), loses trailing slashes, and "" means the
 * whole host.
 */
export interface RouteKey {
  host: string;
  path: string;
}

export function routeKey(hostname: string): RouteKey {
  const slash = hostname.indexOf("/");
  if (slash < 0) return { host: normalizeHost(hostname), path: "" };
  return { host: normalizeHost(hostname.slice(0, slash)), path: normalizePath(hostname.slice(slash).toLowerCase()) };
}

/** "/a/b/" -> "/a/b", "/" -> "" (a route on "/" is the whole host). */
export function normalizePath(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return end === path.length ? path : path.slice(0, end);
}

/**
 * Whether a route path covers a request path, on segment boundaries as
 * gorouter matches them: "/a" covers "/a", "/a/", "/a/b" and "/a?x", not "/ab".
 * `requestPath` (lower case) may carry a query string.
 */
export function pathCovers(routePath: string, requestPath: string): boolean {
  if (routePath === "") return true;
  if (!requestPath.startsWith(routePath)) return false;
  if (requestPath.length === routePath.length) return true;
  const next = requestPath.charCodeAt(routePath.length);
  return next === 47 /* / */ || next === 63 /* ? */;
}
