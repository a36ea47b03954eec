/**
 * Defaulting the API server applies on write (the SetDefaults_* functions of
 * k8s.io/kubernetes/pkg/apis/{core,apps,batch}/v1, v1.28). Emulated so that
 * clients comparing what they sent with what they read back meet the same
 * extra fields and canonical quantities ("1024Mi" reads back as "1Gi") they
 * would meet on a real cluster. Each rule names the real function it copies.
 * Zero-value dropping (omitempty) is in omitempty.ts; the server runs
 * drop -> default -> drop, as decode -> default -> encode does.
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

// core/v1 SetDefaults_Probe: timeout 1, period 10, success 1, failure 3; SetDefaults_HTTPGetAction: scheme HTTP.
function probe(p: Obj | undefined): void {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) p.httpGet.scheme ??= "HTTP";
}

// core/v1 SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_ContainerPort, SetDefaults_ObjectFieldSelector.
export function defaultPodSpec(spec: Obj | undefined, restartPolicy = "Always"): void {
  if (!spec) return;
  spec.restartPolicy ??= restartPolicy;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  // SetDefaults_Volume: a volume with no source is an emptyDir; emptyDir.medium "" is dropped (omitempty).
  for (const v of spec.volumes ?? []) if (Object.keys(v).length === 1) v.emptyDir = {};
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.imagePullPolicy ??= typeof c.image === "string" && (c.image.endsWith(":latest") || !/:[^/]+$/.test(c.image)) ? "Always" : "IfNotPresent";
    c.resources ??= {};
    resources(c.resources);
    for (const p of c.ports ?? []) p.protocol ??= "TCP";
    // SetDefaults_ObjectFieldSelector: a fieldRef without apiVersion gets "v1".
    for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= "v1";
    probe(c.livenessProbe);
    probe(c.readinessProbe);
    probe(c.startupProbe);
  }
}

export function applyDefaults(resource: string, obj: Obj): void {
  const spec = obj.spec;
  switch (resource) {
    case "statefulsets":
      // apps/v1 SetDefaults_StatefulSet.
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= "OrderedReady";
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: "Retain", whenScaled: "Retain" };
      defaultPodSpec(spec.template?.spec);
      // A template's ObjectMeta.creationTimestamp is a metav1.Time struct: omitempty cannot drop it, it reads back null.
      if (spec.template) {
        spec.template.metadata ??= {};
        spec.template.metadata.creationTimestamp = null;
      }
      break;
    case "jobs":
      // batch/v1 SetDefaults_Job (podReplacementPolicy is alpha in v1.28: not set).
      spec.parallelism ??= 1;
      spec.completions ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= "NonIndexed";
      spec.suspend ??= false;
      defaultPodSpec(spec.template?.spec, spec.template?.spec?.restartPolicy);
      if (spec.template) {
        spec.template.metadata ??= {};
        spec.template.metadata.creationTimestamp = null;
      }
      break;
    case "pods":
      // core/v1 SetDefaults_Pod: enableServiceLinks defaults to true on pods (not on templates).
      spec.enableServiceLinks ??= true;
      defaultPodSpec(spec);
      obj.status ??= { phase: "Pending", qosClass: "BestEffort" };
      break;
    case "services":
      // core/v1 SetDefaults_Service; the IP family fields come from the service REST strategy (single-stack IPv4 cluster).
      spec.type ??= "ClusterIP";
      spec.sessionAffinity ??= "None";
      spec.internalTrafficPolicy ??= "Cluster";
      spec.ipFamilies ??= ["IPv4"];
      spec.ipFamilyPolicy ??= "SingleStack";
      for (const p of spec.ports ?? []) {
        p.protocol ??= "TCP";
        p.targetPort ??= p.port;
      }
      break;
    case "secrets":
      // core/v1 SetDefaults_Secret; stringData is write-only: the REST strategy merges it into data (base64).
      obj.type ??= "Opaque";
      if (obj.stringData) {
        obj.data = { ...obj.data };
        for (const [k, v] of Object.entries(obj.stringData as Record<string, string>)) obj.data[k] = Buffer.from(v).toString("base64");
        delete obj.stringData;
      }
      break;
  }
}
