/**
 * "Does the cluster still hold what we asked for?" compared the way the API
 * server gives objects back, which is the Go encoding of what it stored:
 * - defaulting adds fields we never set (dnsPolicy, probe periods,
 *   terminationMessagePath...): desired is a subset of actual, extra
 *   server-side fields are fine;
 * - quantities come back canonical ("1024Mi" as "1Gi"): compared as numbers;
 * - `omitempty` drops zero values (`initialDelaySeconds: 0`, an env var's
 *   `value: ""`, `readOnly: false`, empty lists and maps): a field that is
 *   absent decodes to its zero value, exactly as a Go client reads it, so
 *   absent equals a desired 0, "", false, [] or {}.
 * Lists must have the same length, every field we set an equal value.
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

/** What an absent field decodes to: the zero value of its type (Go JSON decoding). */
function isZeroValue(v: unknown): boolean {
  if (v === 0 || v === "" || v === false || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object" && !(v instanceof Date)) return Object.values(v as object).every((x) => x === undefined || isZeroValue(x));
  return false;
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
    if (actual === undefined || actual === null) return isZeroValue(desired) ? null : path || "(root)";
    if (typeof actual !== "object") return path || "(root)";
    for (const [k, v] of Object.entries(desired)) {
      const d = firstDifference(v, (actual as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  if (actual === undefined && isZeroValue(desired)) return null;
  return leafEqual(path, desired, actual) ? null : path || "(root)";
}
