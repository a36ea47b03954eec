/**
 * Scheduling hints: the backend-neutral reading of the scheduling
 * annotations an LRP carries in `user_defined_annotations` (app and space
 * metadata annotations on the CF side, space values overlaid by the app's,
 * merged by the Cloud Controller). Pure parsing, no scheduler types: the
 * Cloud Controller validates with it (422 naming the key) and a backend
 * (opi/kube) turns the hints into its own objects. Keys, all optional:
 *
 * - `scheduling.eirini.cloudfoundry.org/node-selector`: `disktype=ssd,zone=a`
 * - `scheduling.eirini.cloudfoundry.org/node-affinity`: required node
 *   affinity in label-selector syntax: `zone in (a,b),!spot,gpu`
 * - `scheduling.eirini.cloudfoundry.org/preferred-node-affinity`: the same
 *   syntax, as a preferred term
 * - `scheduling.eirini.cloudfoundry.org/tolerations`: kubectl taint syntax,
 *   comma-separated: `dedicated=cf:NoSchedule,spot:NoExecute,gpu`
 * - `scheduling.eirini.cloudfoundry.org/affinity`: `spread` (default:
 *   preferred spreading across nodes), `spread-required` (at most one
 *   instance per node), `none`, or `co-locate:<app guid>`
 * - `scheduling.eirini.cloudfoundry.org/scheduler-name`: a custom scheduler
 * - `scheduling.eirini.cloudfoundry.org/placement-tags`: `gpu,eu-segment`,
 *   CF placement tags for apps without isolation segments (the Cloud
 *   Controller also lifts them into the LRP's `placement_tags`, so the
 *   local backend's tagged cells honour them too)
 *
 * CF placement tags (isolation-segment style) become a node selector
 * `placement.cloudfoundry.org/<tag>=true` plus a toleration of the taint
 * `placement.cloudfoundry.org/<tag>` (operators taint isolated nodes so
 * untagged apps stay off them, as Diego keeps untagged LRPs off tagged cells).
 */
export const SCHEDULING_PREFIX = "scheduling.eirini.cloudfoundry.org/";
export const SCHEDULING_KEYS = {
  nodeSelector: `${SCHEDULING_PREFIX}node-selector`,
  nodeAffinity: `${SCHEDULING_PREFIX}node-affinity`,
  preferredNodeAffinity: `${SCHEDULING_PREFIX}preferred-node-affinity`,
  tolerations: `${SCHEDULING_PREFIX}tolerations`,
  affinity: `${SCHEDULING_PREFIX}affinity`,
  schedulerName: `${SCHEDULING_PREFIX}scheduler-name`,
  placementTags: `${SCHEDULING_PREFIX}placement-tags`,
} as const;
export const PLACEMENT_LABEL_PREFIX = "placement.cloudfoundry.org/";

/** A bad scheduling annotation value; the message starts with the annotation key. */
export class SchedulingError extends Error {
  override name = "SchedulingError";
}

export interface LabelExpression {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface Toleration {
  key: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export type AffinityPreset = { kind: "spread" } | { kind: "spread-required" } | { kind: "none" } | { kind: "co-locate"; appGuid: string };

export interface SchedulingHints {
  /** Annotation pairs first, then placement tags. */
  nodeSelector: Record<string, string>;
  requiredNodeAffinity?: LabelExpression[];
  preferredNodeAffinity?: LabelExpression[];
  /** Placement-tag tolerations first, then the annotation's. */
  tolerations: Toleration[];
  affinity: AffinityPreset;
  schedulerName?: string;
}

const QUALIFIED = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(annotation: string, key: string): string {
  if (!QUALIFIED.test(key)) throw new SchedulingError(`${annotation}: ${JSON.stringify(key)} is not a valid label key`);
  return key;
}
function checkValue(annotation: string, v: string): string {
  if (!VALUE.test(v)) throw new SchedulingError(`${annotation}: ${JSON.stringify(v)} is not a valid label value`);
  return v;
}

function parsePairs(annotation: string, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new SchedulingError(`${annotation}: expected key=value, got ${JSON.stringify(part)}`);
    out[checkKey(annotation, part.slice(0, eq).trim())] = checkValue(annotation, part.slice(eq + 1).trim());
  }
  return out;
}

/** Label-selector syntax to node selector match expressions. */
function parseExpressions(annotation: string, raw: string): LabelExpression[] {
  const out: LabelExpression[] = [];
  const re = /\s*(!?)([^\s,=!()]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(!=|==|=)\s*([^\s,]*))?\s*(?:,|$)/y;
  let pos = 0;
  while (pos < raw.length) {
    re.lastIndex = pos;
    const m = re.exec(raw);
    if (!m || m[0] === "") throw new SchedulingError(`${annotation}: cannot parse ${JSON.stringify(raw.slice(pos))}`);
    pos = re.lastIndex;
    const key = checkKey(annotation, m[2]!);
    if (m[1]) out.push({ key, operator: "DoesNotExist" });
    else if (m[3]) out.push({ key, operator: m[3] === "in" ? "In" : "NotIn", values: m[4]!.split(",").map((v) => checkValue(annotation, v.trim())) });
    else if (m[5]) out.push({ key, operator: m[5] === "!=" ? "NotIn" : "In", values: [checkValue(annotation, m[6]!)] });
    else out.push({ key, operator: "Exists" });
  }
  if (out.length === 0) throw new SchedulingError(`${annotation}: empty expression`);
  return out;
}

const EFFECTS = new Set(["NoSchedule", "PreferNoSchedule", "NoExecute"]);

function parseTolerations(annotation: string, raw: string): Toleration[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((t) => {
      const m = /^([^=:]+)(?:=([^:]*))?(?::(.+))?$/.exec(t);
      if (!m) throw new SchedulingError(`${annotation}: cannot parse toleration ${JSON.stringify(t)}`);
      const key = checkKey(annotation, m[1]!.trim());
      const effect = m[3]?.trim();
      if (effect !== undefined && !EFFECTS.has(effect)) throw new SchedulingError(`${annotation}: effect must be NoSchedule, PreferNoSchedule or NoExecute, got ${JSON.stringify(effect)}`);
      const tol: Toleration = m[2] === undefined ? { key, operator: "Exists" } : { key, operator: "Equal", value: checkValue(annotation, m[2].trim()) };
      if (effect) tol.effect = effect as Toleration["effect"];
      return tol;
    });
}

/** The tags of a `placement-tags` value (comma-separated, deduplicated); each must make a valid node label key. */
export function parsePlacementTags(raw: string): string[] {
  const tags = [...new Set(raw.split(",").map((s) => s.trim()).filter(Boolean))];
  for (const tag of tags) checkKey(SCHEDULING_KEYS.placementTags, `${PLACEMENT_LABEL_PREFIX}${tag}`);
  return tags;
}

function parseAffinity(raw: string | undefined): AffinityPreset {
  const preset = (raw ?? "spread").trim();
  if (preset === "spread" || preset === "spread-required" || preset === "none") return { kind: preset };
  if (preset.startsWith("co-locate:")) {
    const appGuid = preset.slice("co-locate:".length).trim();
    if (!appGuid) throw new SchedulingError(`${SCHEDULING_KEYS.affinity}: co-locate needs an app guid (co-locate:<app guid>)`);
    return { kind: "co-locate", appGuid };
  }
  throw new SchedulingError(`${SCHEDULING_KEYS.affinity}: expected spread, spread-required, none or co-locate:<app guid>, got ${JSON.stringify(preset)}`);
}

/**
 * The hints in an LRP's annotations and placement tags. Throws
 * SchedulingError naming the first bad annotation (or an unknown key under
 * the scheduling prefix); annotations outside the prefix are ignored.
 */
export function parseSchedulingHints(annotations: Record<string, string>, placementTags: readonly string[] = []): SchedulingHints {
  const a = annotations;
  const hints: SchedulingHints = { nodeSelector: {}, tolerations: [], affinity: { kind: "spread" } };
  if (a[SCHEDULING_KEYS.nodeSelector]) Object.assign(hints.nodeSelector, parsePairs(SCHEDULING_KEYS.nodeSelector, a[SCHEDULING_KEYS.nodeSelector]!));
  const fromAnnotation = a[SCHEDULING_KEYS.placementTags] ? parsePlacementTags(a[SCHEDULING_KEYS.placementTags]!) : [];
  for (const tag of new Set([...placementTags, ...fromAnnotation])) {
    const key = `${PLACEMENT_LABEL_PREFIX}${tag}`;
    checkKey("placement_tags", key);
    hints.nodeSelector[key] = "true";
    hints.tolerations.push({ key, operator: "Exists", effect: "NoSchedule" });
  }
  if (a[SCHEDULING_KEYS.tolerations]) hints.tolerations.push(...parseTolerations(SCHEDULING_KEYS.tolerations, a[SCHEDULING_KEYS.tolerations]!));
  if (a[SCHEDULING_KEYS.nodeAffinity]) hints.requiredNodeAffinity = parseExpressions(SCHEDULING_KEYS.nodeAffinity, a[SCHEDULING_KEYS.nodeAffinity]!);
  if (a[SCHEDULING_KEYS.preferredNodeAffinity]) hints.preferredNodeAffinity = parseExpressions(SCHEDULING_KEYS.preferredNodeAffinity, a[SCHEDULING_KEYS.preferredNodeAffinity]!);
  hints.affinity = parseAffinity(a[SCHEDULING_KEYS.affinity]);

  const scheduler = a[SCHEDULING_KEYS.schedulerName]?.trim();
  if (scheduler) {
    if (scheduler.length > 253 || !DNS_SUBDOMAIN.test(scheduler)) throw new SchedulingError(`${SCHEDULING_KEYS.schedulerName}: ${JSON.stringify(scheduler)} is not a valid scheduler name`);
    hints.schedulerName = scheduler;
  }
  const known: readonly string[] = Object.values(SCHEDULING_KEYS);
  for (const k of Object.keys(a)) {
    if (k.startsWith(SCHEDULING_PREFIX) && !known.includes(k)) throw new SchedulingError(`unknown scheduling annotation ${JSON.stringify(k)}; known: ${known.join(", ")}`);
  }
  return hints;
}
