import semver from "semver";

/**
 * Turns a version as apps write it into a semver range, the way CF's
 * buildpacks read them: `20` / `20.x` / `^20.1` / `>=18 <21` stay npm ranges;
 * a bare `3.11` means 3.11.x; `python-3.11.4` (runtime.txt) and `go1.22`
 * (go.mod toolchain) lose their prefix; `*`, `latest` and "" mean any.
 */
export function normalizeConstraint(raw: string): string {
  let c = raw.trim();
  c = c.replace(/^(python|ruby|go|node|nodejs)[-@ ]?/i, "");
  if (c === "" || c === "latest" || c === "*" || c === "x") return "*";
  // "3.11" or "1.22" alone: npm reads it as 3.11.x already; "3.11.4" is exact.
  return c;
}

/**
 * The highest of `versions` inside `constraint` (npm semver rules; loose
 * parsing so "1.22" and "v20.1.0" count), or null when none is.
 */
export function pickVersion(versions: string[], constraint: string): string | null {
  const range = normalizeConstraint(constraint);
  if (semver.validRange(range, { loose: true }) === null) return null;
  let best: string | null = null;
  let bestParsed: semver.SemVer | null = null;
  for (const v of versions) {
    const parsed = semver.coerce(v, { loose: true, includePrerelease: true });
    const exact = semver.valid(v, { loose: true }) ? new semver.SemVer(v, { loose: true }) : parsed;
    if (!exact) continue;
    if (!semver.satisfies(exact, range, { loose: true })) continue;
    if (!bestParsed || semver.gt(exact, bestParsed)) {
      best = v;
      bestParsed = exact;
    }
  }
  return best;
}

/** Whether a constraint is one semver can read (after normalizing). */
export function validConstraint(raw: string): boolean {
  return semver.validRange(normalizeConstraint(raw), { loose: true }) !== null;
}
