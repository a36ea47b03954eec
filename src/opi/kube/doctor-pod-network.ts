import type { KubeClient } from "./client.ts";
import { LABEL, MANAGED_BY } from "./keys.ts";

/**
 * "Can a pod reach it?" asked of a pod: a short Job in the apps namespace,
 * running curl from the staging image (which has curl: staging pods use it
 * to reach the appliance), as the pods we run do (uid 2000, no service
 * account token). Each target is fetched once; the pod prints one line per
 * target, `<name> <http code>` (000 when nothing answered), read back from
 * its log. Whether an address is loopback is not guessed from its text: a
 * pod's network decides, as it will for staging.
 */
export interface ProbeTarget {
  name: string;
  url: string;
  /** HTTP statuses that count as reachable. */
  ok: number[];
}

export interface ProbeResult {
  name: string;
  url: string;
  /** 0 when nothing answered. */
  status: number;
  reachable: boolean;
}

export interface PodProbeOptions {
  client: KubeClient;
  image: string;
  targets: ProbeTarget[];
  /** Extra labels for the probe pod (tests: the emulator's run-locally label). */
  podLabels?: Record<string, string>;
  imagePullSecret?: string;
  timeoutMs?: number;
  pollMs?: number;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** The pod's shell script: one `<name> <code>` line per target. */
export function probeScript(targets: ProbeTarget[]): string {
  return targets.map((t) => `printf '%s %s\\n' ${quote(t.name)} "$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 10 ${quote(t.url)} || true)"`).join("\n");
}

/** Runs the probe; throws with the pod's trouble when it cannot run (image, scheduling, timeout). */
export async function probeFromPod(o: PodProbeOptions): Promise<ProbeResult[]> {
  const name = `eirini-doctor-${crypto.randomUUID().slice(0, 8)}`;
  const labels = { [LABEL.managedBy]: MANAGED_BY, "eirini.cloudfoundry.org/doctor": "true", ...o.podLabels };
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil((o.timeoutMs ?? 60_000) / 1000),
      ttlSecondsAfterFinished: 300,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000 },
          ...(o.imagePullSecret ? { imagePullSecrets: [{ name: o.imagePullSecret }] } : {}),
          containers: [
            {
              name: "probe",
              image: o.image,
              command: ["/bin/sh", "-c", probeScript(o.targets)],
              resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    },
  };
  await o.client.create("jobs", job);
  try {
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    let pod: Record<string, any> | undefined;
    for (;;) {
      const pods = await o.client.list("pods", { labelSelector: `job-name=${name}` });
      pod = (pods.items ?? [])[0];
      const phase = pod?.status?.phase;
      if (phase === "Succeeded" || phase === "Failed") break;
      const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason && waiting.reason !== "ContainerCreating" && waiting.reason !== "PodInitializing") {
        throw new Error(`the probe pod cannot start (image ${o.image}): ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`);
      }
      const unsched = (pod?.status?.conditions ?? []).find((c: any) => c.type === "PodScheduled" && c.status === "False");
      if (Date.now() > deadline) throw new Error(`the probe pod did not finish in ${Math.round((o.timeoutMs ?? 60_000) / 1000)} s${unsched ? `: ${unsched.message}` : pod ? ` (phase ${phase})` : " (no pod was created)"}`);
      await Bun.sleep(o.pollMs ?? 250);
    }
    const stream = await o.client.podLog(pod!.metadata.name, { follow: false });
    const text = await new Response(stream).text();
    const codes = new Map<string, number>();
    for (const line of text.split("\n")) {
      const m = /^(\S+) (\d{3})$/.exec(line.trim());
      if (m) codes.set(m[1]!, Number(m[2]));
    }
    return o.targets.map((t) => {
      const status = codes.get(t.name) ?? 0;
      return { name: t.name, url: t.url, status, reachable: t.ok.includes(status) };
    });
  } finally {
    // Best effort: the Job's TTL removes it anyway.
    await o.client.delete("jobs", name, { propagation: "Background" }).catch(() => false);
  }
}
