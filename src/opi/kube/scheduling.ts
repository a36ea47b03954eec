import { LABEL } from "./keys.ts";
import { labelValue } from "./names.ts";

/**
 * Kubernetes scheduling reachable from the CF side, through app (or space)
 * metadata annotations that arrive as the LRP's `user_defined_annotations`
 * (space values first, app values override, merged by the Cloud
 * Controller). Keys, all optional:
 *
 * - `scheduling.eirini.cloudfoundry.org/node-selector`: `disktype=ssd,zone=a`
 * - `scheduling.eirini.cloudfoundry.org/node-affinity`: required node
 *   affinity in label-selector syntax: `zone in (a,b),!spot,gpu`
 * - `scheduling.eirini.cloudfoundry.org/preferred-node-affinity`: the same
 *   syntax, as a preferred term (weight 50)
 * - `scheduling.eirini.cloudfoundry.org/tolerations`: kubectl taint syntax,
 *   comma-separated: `dedicated=cf:NoSchedule,spot:NoExecute,gpu`
 * - `scheduling.eirini.cloudfoundry.org/affinity`: `spread` (default:
 *   preferred anti-affinity across nodes), `spread-required` (at most one
 *   instance per node), `none`, or `co-locate:<app guid>` (preferred pod
 *   affinity with that app's instances, plus spread)
 * - `scheduling.eirini.cloudfoundry.org/scheduler-name`: a custom scheduler
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
} as const;
export const PLACEMENT_LABEL_PREFIX = "placement.cloudfoundry.org/";

export class SchedulingError extends Error {
  override name = "SchedulingError";
}

type Obj = Record<string, unknown>;

export interface Scheduling {
  nodeSelector?: Record<string, string>;
  affinity: Obj;
  tolerations?: Obj[];
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
function parseExpressions(annotation: string, raw: string): Obj[] {
  const out: Obj[] = [];
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

function parseTolerations(annotation: string, raw: string): Obj[] {
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
      const tol: Obj = m[2] === undefined ? { key, operator: "Exists" } : { key, operator: "Equal", value: checkValue(annotation, m[2].trim()) };
      if (effect) tol.effect = effect;
      return tol;
    });
}

/** Scheduling for an LRP's pods; throws SchedulingError naming the bad annotation. */
export function schedulingFor(opts: { guid: string; version: string; annotations: Record<string, string>; placementTags: string[] }): Scheduling {
  const a = opts.annotations;
  const out: Scheduling = { affinity: {} };
  const nodeSelector: Record<string, string> = {};
  const tolerations: Obj[] = [];
  if (a[SCHEDULING_KEYS.nodeSelector]) Object.assign(nodeSelector, parsePairs(SCHEDULING_KEYS.nodeSelector, a[SCHEDULING_KEYS.nodeSelector]!));
  for (const tag of opts.placementTags) {
    const key = `${PLACEMENT_LABEL_PREFIX}${tag}`;
    checkKey("placement_tags", key);
    nodeSelector[key] = "true";
    tolerations.push({ key, operator: "Exists", effect: "NoSchedule" });
  }
  if (Object.keys(nodeSelector).length > 0) out.nodeSelector = nodeSelector;
  if (a[SCHEDULING_KEYS.tolerations]) tolerations.push(...parseTolerations(SCHEDULING_KEYS.tolerations, a[SCHEDULING_KEYS.tolerations]!));
  if (tolerations.length > 0) out.tolerations = tolerations;

  const nodeAffinity: Obj = {};
  if (a[SCHEDULING_KEYS.nodeAffinity])
    nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchExpressions: parseExpressions(SCHEDULING_KEYS.nodeAffinity, a[SCHEDULING_KEYS.nodeAffinity]!) }] };
  if (a[SCHEDULING_KEYS.preferredNodeAffinity])
    nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = [{ weight: 50, preference: { matchExpressions: parseExpressions(SCHEDULING_KEYS.preferredNodeAffinity, a[SCHEDULING_KEYS.preferredNodeAffinity]!) } }];
  if (Object.keys(nodeAffinity).length > 0) out.affinity.nodeAffinity = nodeAffinity;

  const self = { labelSelector: { matchLabels: { [LABEL.guid]: labelValue(opts.guid), [LABEL.version]: labelValue(opts.version) } }, topologyKey: "kubernetes.io/hostname" };
  const preset = (a[SCHEDULING_KEYS.affinity] ?? "spread").trim();
  if (preset === "spread") out.affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: self }] };
  else if (preset === "spread-required") out.affinity.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [self] };
  else if (preset.startsWith("co-locate:")) {
    const other = preset.slice("co-locate:".length).trim();
    if (!other) throw new SchedulingError(`${SCHEDULING_KEYS.affinity}: co-locate needs an app guid (co-locate:<app guid>)`);
    out.affinity.podAffinity = {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { [LABEL.appGuid]: labelValue(other) } }, topologyKey: "kubernetes.io/hostname" } }],
    };
    out.affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: self }] };
  } else if (preset !== "none")
    throw new SchedulingError(`${SCHEDULING_KEYS.affinity}: expected spread, spread-required, none or co-locate:<app guid>, got ${JSON.stringify(preset)}`);

  const scheduler = a[SCHEDULING_KEYS.schedulerName]?.trim();
  if (scheduler) {
    if (scheduler.length > 253 || !DNS_SUBDOMAIN.test(scheduler)) throw new SchedulingError(`${SCHEDULING_KEYS.schedulerName}: ${JSON.stringify(scheduler)} is not a valid scheduler name`);
    out.schedulerName = scheduler;
  }
  for (const k of Object.keys(a)) {
    if (k.startsWith(SCHEDULING_PREFIX) && !Object.values(SCHEDULING_KEYS).includes(k as never))
      throw new SchedulingError(`unknown scheduling annotation ${JSON.stringify(k)}; known: ${Object.values(SCHEDULING_KEYS).join(", ")}`);
  }
  return out;
}
