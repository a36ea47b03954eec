import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../log/index.ts";
import { StagingError, unpackSource, type ExecHooks, type PackResult, type StagingExecutor, type StagingJob, type StagingOutcome } from "../../st8ge/index.ts";
import type { KubeClient, Obj } from "./client.ts";
import { Informer } from "./informer.ts";
import { LABEL } from "./keys.ts";
import { labelValue, stagingJobName } from "./names.ts";
import { buildStagingJob, STAGING_CONTAINER, STAGING_SELECTOR } from "./staging-job.ts";
import { prepareStagingInput } from "./staging-input.ts";
import { followStagingLog } from "./staging-log.ts";
import { stagingPodVerdict, timeoutError } from "./staging-pod-state.ts";
import { readLifecycleResult, type LifecycleResult } from "./staging-result.ts";
import { TRANSFER_PREFIX, type StagingTransfers } from "./staging-transfers.ts";

export interface KubeStagingExecutorOptions {
  client: KubeClient;
  transfers: StagingTransfers;
  /** The appliance's base URL as pods reach it (kube.publicUrl or its own URL). */
  applianceUrl: () => string;
  /** The stack image a staging of `stack` runs in. */
  image: (stack: string) => string;
  /** Parent of each staging's local files (prepared input, received result). */
  workRoot: string;
  logger: Logger;
  /** Extra labels on staging pods (tests: the emulator's run-locally label). */
  podLabels?: Record<string, string>;
  /** Image pull secret for a staging image served by the embedded registry (the stack imported there). */
  imagePullSecret?: (image: string) => string | undefined;
  gzipLevel?: number;
  maxEntries?: number;
  /** Watch reconnect delays (tests shorten them). */
  backoffMs?: (attempt: number) => number;
}

export interface KubeStagingExecutor extends StagingExecutor {
  /** Deletes staging Jobs no running staging owns (left by a previous run); returns how many. */
  sweep(): Promise<number>;
}

const MB = 1024 * 1024;
/** Longest wait for a finished pod's log to end (a stream that never closes must not hold the staging). */
const LOG_DRAIN_MS = 10_000;

async function drain(logs: Promise<void> | undefined): Promise<void> {
  if (!logs) return;
  let t: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([logs, new Promise<void>((r) => (t = setTimeout(r, LOG_DRAIN_MS)))]);
  clearTimeout(t);
}

interface PodItem {
  name: string;
  rv: string;
  pod: Obj;
}

function appOf(env: Record<string, string>, fallback: string): { guid: string; name: string } {
  try {
    const v = JSON.parse(env.VCAP_APPLICATION ?? "{}") as { application_id?: unknown; application_name?: unknown };
    return { guid: typeof v.application_id === "string" ? v.application_id : fallback, name: typeof v.application_name === "string" ? v.application_name : "app" };
  } catch {
    return { guid: fallback, name: "app" };
  }
}

/**
 * Stages in a Kubernetes Job: the input is prepared (and checked) here, a
 * Job runs builder.sh in the stack image, the pod pulls its input and
 * pushes its result and droplet back over the transfer routes, and its log
 * streams into the staging log as it happens. The pod is watched so a pull
 * error, an unschedulable pod, an OOM kill, an eviction for disk, the
 * deadline or a non-zero exit fail the staging at once with a clear reason.
 * Cancel and the timeout delete the Job (and its pod) at once; a finished
 * Job is deleted as soon as its outcome is known.
 */
export function createKubeStagingExecutor(o: KubeStagingExecutorOptions): KubeStagingExecutor {
  const active = new Set<string>();
  mkdirSync(o.workRoot, { recursive: true });
  const log = o.logger.child({ part: "opi-kube-staging" });

  async function deleteJob(name: string, podName: string | undefined): Promise<void> {
    try {
      await o.client.delete("jobs", name, { propagation: "Background" });
      // The garbage collector would give the pod its grace period; a cancelled or timed-out staging stops now.
      if (podName) await o.client.delete("pods", podName, { gracePeriodSeconds: 0 });
    } catch (err) {
      log.warn("could not delete a staging Job; the next sweep will", { job: name, error: err });
    }
  }

  async function run(job: StagingJob, hooks: ExecHooks): Promise<StagingOutcome> {
    const safeId = job.id.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64);
    const work = join(o.workRoot, `${safeId}-${crypto.randomUUID().slice(0, 8)}`);
    const app = appOf(job.env, job.id);
    const jobName = stagingJobName(app.name, job.id);
    let podName: string | undefined;
    let informer: Informer<PodItem> | undefined;
    let closeTransfers: (() => void) | undefined;
    const logAbort = new AbortController();
    try {
      if (hooks.signal?.aborted) throw new StagingError("StagingCancelled", "staging was cancelled");
      mkdirSync(join(work, "tree"), { recursive: true });
      const inputPath = join(work, "input.tgz");
      await prepareStagingInput(job, join(work, "tree"), inputPath, { maxEntries: o.maxEntries ?? 500_000, gzipLevel: o.gzipLevel ?? 1, onLine: hooks.onLine });
      rmSync(join(work, "tree"), { recursive: true, force: true });
      if (hooks.signal?.aborted) throw new StagingError("StagingCancelled", "staging was cancelled");

      let result: LifecycleResult | StagingError | undefined;
      let droplet: PackResult | undefined;
      let uploadError: string | undefined;
      // `ended`: the pod's container terminated, so its log ends too and is worth waiting for.
      type End = { ok: true } | { ok: false; error: StagingError; ended: boolean };
      let settle!: (v: End) => void;
      const settled = new Promise<End>((r) => (settle = r));
      const fail = (error: StagingError, ended = false) => settle({ ok: false, error, ended });

      closeTransfers = o.transfers.open(job.id, {
        inputPath,
        uploadDir: work,
        maxBytes: job.limits.diskBytes,
        dropletPath: job.dropletPath,
        async onResult(tarPath) {
          const dir = join(work, "result");
          try {
            await unpackSource({ tar: tarPath }, dir, { maxBytes: job.limits.diskBytes, maxEntries: o.maxEntries ?? 500_000 });
          } catch (err) {
            result = new StagingError("StagerError", `the staging result was refused: ${(err as Error).message}`, { cause: err });
            return null;
          }
          result = readLifecycleResult(dir, job);
          if (result instanceof StagingError) return null;
          if (!result.startCommand) {
            hooks.onLine("ERR", "No start command specified by buildpack or via Procfile.");
            hooks.onLine("ERR", "App will not start unless a command is provided at runtime.");
          }
          return result.stagingInfo;
        },
        onDroplet: (d) => void (droplet = d),
        onUploadError: (m) => void (uploadError = m),
      });

      let logs: Promise<void> | undefined;
      const onPod = (pod: Obj) => {
        podName = pod.metadata.name;
        const cs = pod.status?.containerStatuses?.[0];
        if (!logs && (cs?.state?.running || cs?.state?.terminated)) {
          logs = followStagingLog(o.client, pod.metadata.name, STAGING_CONTAINER, hooks.onLine, logAbort.signal).catch((err) => log.warn("staging log stream broke", { job: jobName, error: err }));
        }
        const v = stagingPodVerdict(pod, job.limits);
        const ended = Boolean(pod.status?.containerStatuses?.[0]?.state?.terminated);
        if (v.kind === "failed") fail(v.error, ended);
        else if (v.kind === "exited") fail(result instanceof StagingError ? result : new StagingError("StagerError", uploadError ?? `staging pod exited with status ${v.exitCode}`), true);
        else if (v.kind === "succeeded") {
          if (result instanceof StagingError) fail(result, true);
          else if (!result || !droplet) fail(new StagingError("StagerError", uploadError ?? "staging pod finished without uploading its droplet"), true);
          else settle({ ok: true });
        }
      };
      informer = new Informer<PodItem>({
        kind: "pods",
        client: o.client,
        logger: log,
        labelSelector: `${STAGING_SELECTOR},${LABEL.stagingGuid}=${labelValue(job.id)}`,
        project: (pod) => ({ name: pod.metadata.name, rv: String(pod.metadata.resourceVersion ?? ""), pod }),
        ...(o.backoffMs ? { backoffMs: o.backoffMs } : {}),
      });
      informer.on((type, item) => {
        if (type !== "deleted") return onPod(item.pod);
        // Gone without us: the Job's deadline (its controller deletes the pod) or a human.
        void o.client
          .get("jobs", jobName)
          .then((j) => {
            const failed = (j?.status?.conditions ?? []).find((c: Obj) => c.type === "Failed" && c.status === "True");
            fail(failed?.reason === "DeadlineExceeded" ? timeoutError(job.limits.timeoutMs) : new StagingError("StagerError", `staging pod ${item.name} was deleted${failed ? ` (${failed.reason}: ${failed.message})` : ""}`));
          })
          .catch((err) => fail(new StagingError("StagerError", `staging pod ${item.name} was deleted`, { cause: err })));
      });
      informer.start();

      const onAbort = () => fail(new StagingError("StagingCancelled", "staging was cancelled"));
      hooks.signal?.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(() => fail(timeoutError(job.limits.timeoutMs)), job.limits.timeoutMs);
      active.add(jobName);
      try {
        const base = o.applianceUrl().replace(/\/+$/, "");
        const image = o.image(job.env.CF_STACK ?? "");
        const pullSecret = o.imagePullSecret?.(image);
        const manifest = buildStagingJob({
          name: jobName,
          namespace: o.client.namespace,
          stagingGuid: job.id,
          appGuid: app.guid,
          image,
          transferUrl: `${base}${TRANSFER_PREFIX}/${encodeURIComponent(job.id)}`,
          token: o.transfers.token(job.id, job.limits.timeoutMs / 1000 + 60),
          mode: job.detect ? "detect" : "named",
          // Runtimes (node, python, ...) come from the appliance too, at the address the pod reaches it (st8ge/runtimes).
          env: job.env.EIRINI_RUNTIMES_TOKEN ? { EIRINI_RUNTIMES_URL: `${base}/st8ge/runtimes`, ...job.env } : job.env,
          limits: job.limits,
          ...(o.podLabels ? { podLabels: o.podLabels } : {}),
          ...(pullSecret ? { pullSecret } : {}),
        });
        o.client.create("jobs", manifest).catch(
          (err) => fail(new StagingError("StagerError", `could not create the staging Job: ${(err as Error).message}`, { cause: err })),
        );
        const end = await settled;
        // The log ends with the container: its last lines (often the reason) come before the outcome.
        if (end.ok || end.ended) await drain(logs);
        if (!end.ok) throw end.error;
      } finally {
        clearTimeout(timer);
        hooks.signal?.removeEventListener("abort", onAbort);
      }
      const ok = result as LifecycleResult;
      const got = droplet as PackResult | undefined;
      if (!got) throw new StagingError("StagerError", "staging pod finished without uploading its droplet");
      hooks.onLine("OUT", `Uploaded droplet (${(got.size / MB).toFixed(1)}M)`);
      return {
        droplet: got,
        detectedBuildpack: ok.detectedBuildpack,
        buildpackName: ok.buildpackName,
        startCommand: ok.startCommand,
        processTypes: ok.processTypes,
        cacheDir: join(work, "result", "cache"),
        dispose: () => rmSync(work, { recursive: true, force: true }),
      };
    } catch (err) {
      rmSync(work, { recursive: true, force: true });
      rmSync(job.dropletPath, { force: true });
      if (err instanceof StagingError) throw err;
      throw new StagingError("StagerError", `staging failed: ${(err as Error).message}`, { cause: err });
    } finally {
      logAbort.abort();
      closeTransfers?.();
      await informer?.stop();
      if (active.has(jobName)) await deleteJob(jobName, podName);
      active.delete(jobName);
    }
  }

  async function sweep(): Promise<number> {
    const page = await o.client.list("jobs", { labelSelector: STAGING_SELECTOR });
    let n = 0;
    for (const j of page.items) {
      const name = j.metadata?.name as string;
      if (active.has(name)) continue;
      await o.client.delete("jobs", name, { propagation: "Background" });
      n++;
    }
    return n;
  }

  return { name: "kube", run, sweep };
}
