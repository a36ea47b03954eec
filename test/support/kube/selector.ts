/**
 * Label selectors as the API server parses them from `?labelSelector=`
 * (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`) and from
 * `metav1.LabelSelector` objects (matchLabels + matchExpressions), plus the
 * equality-only field selectors.
 */
export type Requirement =
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export type Labels = Record<string, string> | undefined;

export class SelectorError extends Error {}

export function parseLabelSelector(raw: string | null | undefined): Requirement[] {
  const out: Requirement[] = [];
  if (!raw) return out;
  let i = 0;
  const s = raw;
  const skipWs = () => {
    while (i < s.length && s[i] === " ") i++;
  };
  const ident = () => {
    skipWs();
    const start = i;
    while (i < s.length && /[A-Za-z0-9_.\-/]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    let negate = false;
    if (s[i] === "!") {
      negate = true;
      i++;
    }
    const key = ident();
    if (!key) throw new SelectorError(`invalid label selector ${JSON.stringify(raw)}: expected a key at ${i}`);
    skipWs();
    if (negate) {
      out.push({ key, op: "!exists" });
    } else if (s.startsWith("!=", i)) {
      i += 2;
      out.push({ key, op: "notin", values: [ident()] });
    } else if (s.startsWith("==", i)) {
      i += 2;
      out.push({ key, op: "in", values: [ident()] });
    } else if (s[i] === "=") {
      i += 1;
      out.push({ key, op: "in", values: [ident()] });
    } else if (s.startsWith("in", i) || s.startsWith("notin", i)) {
      const op = s.startsWith("in", i) ? "in" : "notin";
      i += op.length;
      skipWs();
      if (s[i] !== "(") throw new SelectorError(`invalid label selector ${JSON.stringify(raw)}: expected ( after ${op}`);
      i++;
      const values: string[] = [];
      for (;;) {
        values.push(ident());
        skipWs();
        if (s[i] === ",") {
          i++;
          continue;
        }
        if (s[i] === ")") {
          i++;
          break;
        }
        throw new SelectorError(`invalid label selector ${JSON.stringify(raw)}: unclosed value set`);
      }
      out.push({ key, op, values });
    } else {
      out.push({ key, op: "exists" });
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ",") throw new SelectorError(`invalid label selector ${JSON.stringify(raw)}: unexpected ${JSON.stringify(s[i])}`);
      i++;
    }
  }
  return out;
}

export function matches(reqs: Requirement[], labels: Labels): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "in":
        return has && r.values.includes(l[r.key]!);
      case "notin":
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Requirements of a `metav1.LabelSelector`; an empty selector matches everything. */
export function fromLabelSelector(sel: LabelSelectorObject | undefined): Requirement[] {
  const out: Requirement[] = [];
  for (const [key, v] of Object.entries(sel?.matchLabels ?? {})) out.push({ key, op: "in", values: [v] });
  for (const e of sel?.matchExpressions ?? []) {
    const op = e.operator;
    if (op === "In") out.push({ key: e.key, op: "in", values: e.values ?? [] });
    else if (op === "NotIn") out.push({ key: e.key, op: "notin", values: e.values ?? [] });
    else if (op === "Exists") out.push({ key: e.key, op: "exists" });
    else if (op === "DoesNotExist") out.push({ key: e.key, op: "!exists" });
    else throw new SelectorError(`unknown selector operator ${JSON.stringify(op)}`);
  }
  return out;
}

/** Field selectors: `path=value` / `path!=value`, comma-separated, on dotted paths. */
export function parseFieldSelector(raw: string | null | undefined): ((obj: unknown) => boolean) | undefined {
  if (!raw) return undefined;
  const terms = raw.split(",").map((t) => {
    const m = /^([A-Za-z0-9_.]+)(==|!=|=)(.*)$/.exec(t.trim());
    if (!m) throw new SelectorError(`invalid field selector ${JSON.stringify(raw)}`);
    return { path: m[1]!.split("."), neg: m[2] === "!=", value: m[3]! };
  });
  return (obj) =>
    terms.every((t) => {
      let v: unknown = obj;
      for (const p of t.path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
      const s = v === undefined || v === null ? "" : String(v);
      return t.neg ? s !== t.value : s === t.value;
    });
}
