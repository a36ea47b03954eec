/**
 * "Does the cluster still hold what we asked for?" An object read back from
 * the API server carries defaults we never set (dnsPolicy, probe periods,
 * terminationMessagePath...) and canonical quantities ("1024Mi" comes back
 * as "1Gi"). So desired is compared as a subset of actual: every field we
 * set must be there with an equal value; lists must have the same length;
 * extra server-side fields are fine.
 */
const BIN: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DEC: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity as a number, or undefined when `q` is not one. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === "number") return q;
  if (typeof q !== "string") return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(q);
  if (!m) return undefined;
  const n = Number(m[1]);
  const s = m[2] ?? "";
  return n * (BIN[s] ?? DEC[s]!);
}

function leafEqual(path: string, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date || b instanceof Date) return new Date(a as string).getTime() === new Date(b as string).getTime();
  if (/(^|\.)(requests|limits)\./.test(path)) {
    const qa = parseQuantity(a);
    const qb = parseQuantity(b);
    if (qa !== undefined && qb !== undefined) return Math.abs(qa - qb) < 1e-9;
  }
  return false;
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) && Object.keys(v).length === 0);
}

/** The first path where `desired` is not contained in `actual`, or null when it is. */
export function firstDifference(desired: unknown, actual: unknown, path = ""): string | null {
  if (desired === undefined) return null;
  if (Array.isArray(desired)) {
    if (actual === undefined && desired.length === 0) return null;
    if (!Array.isArray(actual) || actual.length !== desired.length) return path || "(root)";
    for (let i = 0; i < desired.length; i++) {
      const d = firstDifference(desired[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (desired !== null && typeof desired === "object" && !(desired instanceof Date)) {
    if (actual === undefined || actual === null) return isEmpty(desired) ? null : path || "(root)";
    if (typeof actual !== "object") return path || "(root)";
    for (const [k, v] of Object.entries(desired)) {
      const d = firstDifference(v, (actual as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return leafEqual(path, desired, actual) ? null : path || "(root)";
}
