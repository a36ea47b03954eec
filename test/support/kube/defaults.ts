/**
 * Defaulting the API server applies on write. Emulated so that clients
 * comparing what they sent with what they read back meet the same extra
 * fields and canonical quantities ("1024Mi" reads back as "1Gi") they would
 * meet on a real cluster.
 */
type Obj = Record<string, any>;

const BIN: [string, number][] = [["Ei", 2 ** 60], ["Pi", 2 ** 50], ["Ti", 2 ** 40], ["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]];
const DEC: [string, number][] = [["E", 1e18], ["P", 1e15], ["T", 1e12], ["G", 1e9], ["M", 1e6], ["k", 1e3], ["", 1], ["m", 1e-3]];

/** Canonical form of a quantity string, as the API server serializes it. */
export function canonicalQuantity(q: unknown): unknown {
  if (typeof q === "number") return String(q);
  if (typeof q !== "string") return q;
  const m = /^(\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(q);
  if (!m) return q;
  const n = Number(m[1]);
  const suffix = m[2] ?? "";
  if (suffix.endsWith("i")) {
    const bytes = n * BIN.find(([s]) => s === suffix)![1];
    for (const [s, f] of BIN) if (bytes % f === 0 && bytes >= f) return `${bytes / f}${s}`;
    return String(bytes);
  }
  const milli = Math.round(n * DEC.find(([s]) => s === suffix)![1] * 1000);
  if (milli === 0) return "0";
  for (const [s, f] of DEC) {
    const unitMilli = f * 1000;
    if (milli % unitMilli === 0) return `${milli / unitMilli}${s}`;
  }
  return q;
}

function resources(r: Obj | undefined): void {
  for (const part of ["requests", "limits"]) {
    const m = r?.[part];
    if (m) for (const k of Object.keys(m)) m[k] = canonicalQuantity(m[k]);
  }
}

function probe(p: Obj | undefined): void {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) p.httpGet.scheme ??= "HTTP";
}

export function defaultPodSpec(spec: Obj | undefined, restartPolicy = "Always"): void {
  if (!spec) return;
  spec.restartPolicy ??= restartPolicy;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.imagePullPolicy ??= typeof c.image === "string" && (c.image.endsWith(":latest") || !/:[^/]+$/.test(c.image)) ? "Always" : "IfNotPresent";
    c.resources ??= {};
    resources(c.resources);
    for (const p of c.ports ?? []) p.protocol ??= "TCP";
    probe(c.livenessProbe);
    probe(c.readinessProbe);
    probe(c.startupProbe);
  }
}

export function applyDefaults(resource: string, obj: Obj): void {
  const spec = obj.spec;
  switch (resource) {
    case "statefulsets":
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= "OrderedReady";
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: "Retain", whenScaled: "Retain" };
      defaultPodSpec(spec.template?.spec);
      break;
    case "jobs":
      spec.parallelism ??= 1;
      spec.completions ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= "NonIndexed";
      spec.suspend ??= false;
      defaultPodSpec(spec.template?.spec, spec.template?.spec?.restartPolicy);
      break;
    case "pods":
      defaultPodSpec(spec);
      obj.status ??= { phase: "Pending", qosClass: "BestEffort" };
      break;
    case "services":
      spec.type ??= "ClusterIP";
      spec.sessionAffinity ??= "None";
      for (const p of spec.ports ?? []) {
        p.protocol ??= "TCP";
        p.targetPort ??= p.port;
      }
      break;
    case "secrets":
      obj.type ??= "Opaque";
      break;
  }
}
