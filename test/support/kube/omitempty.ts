/**
 * What a real API server's JSON encoding drops. The apiserver decodes a
 * write into Go structs and encodes them back (on the write's answer, on
 * GET, LIST and WATCH); a field tagged `json:",omitempty"` whose Go value is
 * the zero value is not written at all. So, for the kinds the backend writes:
 *
 * - a non-pointer string, int32/int64 or bool field with omitempty that is
 *   "", 0 or false disappears (`initialDelaySeconds: 0`, `readOnly: false`,
 *   an env var's `value: ""`, `hostPort: 0`, `minReadySeconds: 0`);
 * - a pointer field (`*int32`, `*bool`, `*int64`) keeps an explicit zero:
 *   `replicas: 0`, `partition: 0`, `backoffLimit: 0`,
 *   `automountServiceAccountToken: false`, `runAsUser: 0`... (POINTER_SCALARS);
 * - an empty slice or map with omitempty disappears (`env: []`,
 *   `labels: {}`, `nodeSelector: {}`, `requests: {}`) (MAP_FIELDS for maps);
 * - a struct, pointer or not, stays even when empty (`emptyDir: {}`,
 *   `securityContext: {}`, `resources: {}`): omitempty never drops a struct
 *   value, and a non-nil pointer to an empty struct is encoded as `{}`;
 * - a few fields have no omitempty at all and keep their zero value
 *   (NOT_OMITEMPTY: `serviceName` of apps/v1 StatefulSetSpec in v1.28,
 *   `containers`, a port's `containerPort`/`port`, `ready`, `restartCount`).
 *
 * Applied to what clients write (metadata and spec, a Secret's data), never
 * to status the emulator itself composes.
 */
type Obj = Record<string, any>;

const POINTER_SCALARS = new Set([
  // apps/v1 StatefulSetSpec, RollingUpdateStatefulSetStrategy
  "replicas", "revisionHistoryLimit", "partition", "maxUnavailable",
  // batch/v1 JobSpec
  "parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "suspend", "manualSelector", "backoffLimitPerIndex", "maxFailedIndexes",
  // core/v1 PodSpec
  "automountServiceAccountToken", "enableServiceLinks", "terminationGracePeriodSeconds", "shareProcessNamespace", "hostUsers", "setHostnameAsFQDN", "priority",
  // core/v1 (Pod)SecurityContext
  "runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "allowPrivilegeEscalation", "privileged", "readOnlyRootFilesystem",
  // volumes, tolerations, secrets
  "defaultMode", "optional", "tolerationSeconds", "immutable", "weight",
  // policy/v1 PodDisruptionBudgetSpec (IntOrString pointers)
  "minAvailable",
]);

/** Fields of map type (omitempty): dropped when empty. Everything else that holds `{}` is a struct. */
const MAP_FIELDS = new Set(["labels", "annotations", "nodeSelector", "matchLabels", "data", "stringData", "requests", "limits"]);

const NOT_OMITEMPTY = new Set(["serviceName", "containers", "containerPort", "port", "ready", "restartCount", "name"]);

function isZeroScalar(v: unknown): boolean {
  return v === "" || v === 0 || v === false;
}

function prune(v: unknown, key: string, mapKeys: Set<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => prune(x, "", mapKeys));
  if (v === null || typeof v !== "object") return v;
  const o = v as Obj;
  // A map's own keys are data, not fields: keep them whatever their values.
  if (mapKeys.has(key)) return o;
  for (const k of Object.keys(o)) {
    const x = prune(o[k], k, mapKeys);
    const drop =
      x === undefined ||
      // metav1.Time is a struct whose zero value encodes as null: a template's creationTimestamp stays.
      (x === null && k !== "creationTimestamp") ||
      (isZeroScalar(x) && !POINTER_SCALARS.has(k) && !NOT_OMITEMPTY.has(k)) ||
      (Array.isArray(x) && x.length === 0 && !NOT_OMITEMPTY.has(k)) ||
      (mapKeys.has(k) && typeof x === "object" && !Array.isArray(x) && Object.keys(x as Obj).length === 0);
    if (drop) delete o[k];
    else o[k] = x;
  }
  return o;
}

/** Drops the zero values a real apiserver would not encode, in place, for a written object of `resource`. */
export function dropOmitted(resource: string, obj: Obj): void {
  // core/v1 ServiceSpec.selector is a map[string]string; apps/v1 and policy/v1 selectors are *LabelSelector structs.
  const mapKeys = resource === "services" ? new Set([...MAP_FIELDS, "selector"]) : MAP_FIELDS;
  if (obj.metadata) prune(obj.metadata, "metadata", mapKeys);
  if (obj.spec) prune(obj.spec, "spec", mapKeys);
  if (resource === "secrets" && obj.data && Object.keys(obj.data).length === 0) delete obj.data;
}
