import { parseSchedulingHints, type LabelExpression } from "../index.ts";
import { LABEL } from "./keys.ts";
import { labelValue } from "./names.ts";

/**
 * Kubernetes scheduling for an LRP's pods, built from the backend-neutral
 * scheduling hints (`src/opi/scheduling-hints.ts`: the annotation keys and
 * their syntax, parsed and validated there so the Cloud Controller can
 * reject bad values with the same rules). Here the hints become pod spec
 * fields: nodeSelector, node affinity (the preferred term weighs 50),
 * tolerations, pod (anti-)affinity presets keyed on this backend's labels,
 * and schedulerName.
 */
export { SCHEDULING_PREFIX, SCHEDULING_KEYS, PLACEMENT_LABEL_PREFIX, SchedulingError } from "../index.ts";

type Obj = Record<string, unknown>;

export interface Scheduling {
  nodeSelector?: Record<string, string>;
  affinity: Obj;
  tolerations?: Obj[];
  schedulerName?: string;
}

const expressions = (xs: LabelExpression[]): Obj[] => xs.map((x) => ({ ...x }));

/** Scheduling for an LRP's pods; throws SchedulingError naming the bad annotation. */
export function schedulingFor(opts: { guid: string; version: string; annotations: Record<string, string>; placementTags: string[] }): Scheduling {
  const hints = parseSchedulingHints(opts.annotations, opts.placementTags);
  const out: Scheduling = { affinity: {} };
  if (Object.keys(hints.nodeSelector).length > 0) out.nodeSelector = hints.nodeSelector;
  if (hints.tolerations.length > 0) out.tolerations = hints.tolerations.map((t) => ({ ...t }));

  const nodeAffinity: Obj = {};
  if (hints.requiredNodeAffinity) nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchExpressions: expressions(hints.requiredNodeAffinity) }] };
  if (hints.preferredNodeAffinity) nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = [{ weight: 50, preference: { matchExpressions: expressions(hints.preferredNodeAffinity) } }];
  if (Object.keys(nodeAffinity).length > 0) out.affinity.nodeAffinity = nodeAffinity;

  const self = { labelSelector: { matchLabels: { [LABEL.guid]: labelValue(opts.guid), [LABEL.version]: labelValue(opts.version) } }, topologyKey: "kubernetes.io/hostname" };
  const preset = hints.affinity;
  if (preset.kind === "spread") out.affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: self }] };
  else if (preset.kind === "spread-required") out.affinity.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [self] };
  else if (preset.kind === "co-locate") {
    out.affinity.podAffinity = {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { [LABEL.appGuid]: labelValue(preset.appGuid) } }, topologyKey: "kubernetes.io/hostname" } },
      ],
    };
    out.affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: self }] };
  }
  if (hints.schedulerName) out.schedulerName = hints.schedulerName;
  return out;
}
