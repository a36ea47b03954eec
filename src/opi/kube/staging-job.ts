import type { Obj } from "./client.ts";
import { LABEL, ANNOTATION, MANAGED_BY, SOURCE } from "./keys.ts";
import { labelValue } from "./names.ts";
import { STAGING_POD_SCRIPT } from "./staging-pod-script.ts";

/** Where the staging pod's emptyDir is mounted; the pod script works there. */
export const STAGING_WORKDIR = "/home/vcap/staging";
export const STAGING_CONTAINER = "stage";

export interface StagingJobSpec {
  name: string;
  namespace: string;
  stagingGuid: string;
  appGuid: string;
  image: string;
  /** The appliance's URL for this staging's transfers (`.../kube-staging/<guid>`). */
  transferUrl: string;
  token: string;
  mode: "detect" | "named";
  env: Record<string, string>;
  limits: { timeoutMs: number; memoryBytes: number; diskBytes: number };
  /** Extra pod labels (tests mark pods the emulator runs for real). */
  podLabels?: Record<string, string>;
  /** Image pull secret, when the staging image is served by the embedded registry. */
  pullSecret?: string;
}

/** Selects the staging Jobs (and their pods) of this appliance. */
export const STAGING_SELECTOR = `${LABEL.sourceType}=${SOURCE.staging},${LABEL.managedBy}=${MANAGED_BY}`;

/**
 * One staging as a Job: no retries (`backoffLimit: 0`, `restartPolicy:
 * Never`), the staging timeout as `activeDeadlineSeconds`, memory and disk
 * as limits, a non-root pod without a service-account token, and a TTL so a
 * Job the appliance never got to delete (it died) is still cleaned up.
 */
export function buildStagingJob(s: StagingJobSpec): Obj {
  const labels = {
    [LABEL.sourceType]: SOURCE.staging,
    [LABEL.stagingGuid]: labelValue(s.stagingGuid),
    [LABEL.appGuid]: labelValue(s.appGuid),
    [LABEL.managedBy]: MANAGED_BY,
  };
  const env = { ...s.env, ST8GE_URL: s.transferUrl, ST8GE_TOKEN: s.token, ST8GE_MODE: s.mode };
  const resources = {
    requests: { memory: String(s.limits.memoryBytes), "ephemeral-storage": String(s.limits.diskBytes) },
    limits: { memory: String(s.limits.memoryBytes), "ephemeral-storage": String(s.limits.diskBytes) },
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: s.name, namespace: s.namespace, labels, annotations: { [ANNOTATION.stagingGuid]: s.stagingGuid, [ANNOTATION.appGuid]: s.appGuid } },
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: Math.max(1, Math.ceil(s.limits.timeoutMs / 1000)),
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: { labels: { ...labels, ...s.podLabels }, annotations: { [ANNOTATION.stagingGuid]: s.stagingGuid } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } },
          ...(s.pullSecret ? { imagePullSecrets: [{ name: s.pullSecret }] } : {}),
          volumes: [{ name: "staging", emptyDir: {} }],
          containers: [
            {
              name: STAGING_CONTAINER,
              image: s.image,
              imagePullPolicy: "IfNotPresent",
              command: ["/bin/sh", "-c", STAGING_POD_SCRIPT],
              workingDir: STAGING_WORKDIR,
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
              resources,
              securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 2000, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "staging", mountPath: STAGING_WORKDIR }],
            },
          ],
        },
      },
    },
  };
}
