import type { Logger } from "../../log/index.ts";
import type { OpiEvent, TaskStatus } from "../../model/index.ts";
import type { KubeClient } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import type { Informer } from "./informer.ts";
import type { Obj } from "./objects.ts";
import type { JobRecord, PodRecord } from "./projections.ts";

/**
 * Tasks as Jobs: which Job and pod run which task, each task's status from
 * them, one `task_completed` event per task, and finished Jobs deleted after
 * a retention period. A task whose Job disappears before it finished is
 * FAILED. Remembers finished tasks (bounded) so their status outlives the Job.
 */
export interface TaskJobsOptions {
  client: KubeClient;
  jobs: Informer<JobRecord>;
  pods: Informer<PodRecord>;
  logger: Logger;
  emit: (e: OpiEvent) => void;
  now: () => number;
  /** Finished task Jobs are deleted this long after completion is reported. */
  retentionMs: number;
  /** Whether the backend runs (a Job deleted while stopped is not a failure we saw). */
  running: () => boolean;
}

const MAX_REMEMBERED = 10_000;

export class TaskJobs {
  private readonly jobByTask = new Map<string, string>();
  private readonly podByTask = new Map<string, string>();
  private readonly finished = new Map<string, TaskStatus>();
  private readonly reported = new Set<string>();
  private readonly cleanupTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly o: TaskJobsOptions) {}

  /** Known (running or finished) tasks are not started twice. */
  knows(guid: string): boolean {
    return this.jobByTask.has(guid) || this.finished.has(guid);
  }

  hasJob(guid: string): boolean {
    return this.jobByTask.has(guid);
  }

  onPod(type: string, rec: PodRecord): void {
    if (type === "deleted") {
      if (this.podByTask.get(rec.taskGuid) === rec.name) this.podByTask.delete(rec.taskGuid);
    } else this.podByTask.set(rec.taskGuid, rec.name);
  }

  onJob(type: string, rec: JobRecord): void {
    if (!rec.taskGuid) return;
    if (type === "deleted") {
      if (this.jobByTask.get(rec.taskGuid) === rec.name) this.jobByTask.delete(rec.taskGuid);
      if (!this.finished.has(rec.taskGuid) && this.o.running()) {
        this.finish(rec.taskGuid, { guid: rec.taskGuid, state: "FAILED", failure_reason: "the task's Job was deleted before it finished", exit_code: null, started_at: rec.startedAt || null, finished_at: this.nowSec() });
      }
      return;
    }
    this.jobByTask.set(rec.taskGuid, rec.name);
    const status = this.statusOf(rec);
    if ((status.state === "SUCCEEDED" || status.state === "FAILED") && !this.finished.has(rec.taskGuid)) {
      // The job's pod may not have reported its exit code yet; a pod update re-runs this.
      this.finish(rec.taskGuid, status);
      this.scheduleCleanup(rec.name);
    }
  }

  private nowSec(): number {
    return Math.floor(this.o.now() / 1000);
  }

  private statusOf(job: JobRecord): TaskStatus {
    const podName = this.podByTask.get(job.taskGuid);
    const pod = podName ? this.o.pods.get(podName) : undefined;
    const exit = pod?.exitCode ?? null;
    if (job.complete) return { guid: job.taskGuid, state: "SUCCEEDED", failure_reason: "", exit_code: exit ?? 0, started_at: job.startedAt || null, finished_at: job.finishedAt || this.nowSec() };
    if (job.failedCondition || job.failed > 0) {
      const reason = exit !== null ? `Exited with status ${exit}${pod?.exitReason === "OOMKilled" ? " (out of memory)" : ""}` : pod?.waitingReason ? `${pod.waitingReason}: ${pod.waitingMessage}` : job.failedCondition || "task failed";
      return { guid: job.taskGuid, state: "FAILED", failure_reason: reason, exit_code: exit, started_at: job.startedAt || null, finished_at: job.finishedAt || this.nowSec() };
    }
    const running = pod?.phase === "Running";
    return { guid: job.taskGuid, state: running ? "RUNNING" : "PENDING", failure_reason: "", exit_code: null, started_at: running ? pod!.startedAt || job.startedAt || null : null, finished_at: null };
  }

  private finish(guid: string, status: TaskStatus): void {
    this.finished.set(guid, status);
    if (this.finished.size > MAX_REMEMBERED) this.finished.delete(this.finished.keys().next().value as string);
    if (this.reported.has(guid)) return;
    this.reported.add(guid);
    if (this.reported.size > MAX_REMEMBERED) this.reported.delete(this.reported.values().next().value as string);
    this.o.emit({ type: "task_completed", task_guid: guid, state: status.state, failed: status.state === "FAILED", failure_reason: status.failure_reason, at: this.o.now() });
  }

  private scheduleCleanup(jobName: string): void {
    if (this.cleanupTimers.has(jobName)) return;
    const t = setTimeout(() => {
      this.cleanupTimers.delete(jobName);
      this.o.client.delete("jobs", jobName, { propagation: "Background" }).then(
        () => this.o.jobs.forget(jobName),
        (err) => this.o.logger.warn("could not delete a finished task Job", { job: jobName, error: err }),
      );
    }, this.o.retentionMs);
    t.unref?.();
    this.cleanupTimers.set(jobName, t);
  }

  /** Creates the task's Job (already there: nothing). */
  async create(job: Obj): Promise<void> {
    try {
      this.o.jobs.observe(await this.o.client.create("jobs", job));
    } catch (err) {
      if (err instanceof KubeApiError && err.alreadyExists) return;
      throw err;
    }
  }

  get(guid: string): TaskStatus | null {
    const done = this.finished.get(guid);
    if (done) return { ...done };
    const name = this.jobByTask.get(guid);
    const job = name ? this.o.jobs.get(name) : undefined;
    return job ? this.statusOf(job) : null;
  }

  list(): TaskStatus[] {
    const out = new Map<string, TaskStatus>();
    for (const job of this.o.jobs.cache.values()) if (job.taskGuid) out.set(job.taskGuid, this.statusOf(job));
    for (const [guid, s] of this.finished) out.set(guid, { ...s });
    return [...out.values()];
  }

  async cancel(guid: string): Promise<void> {
    if (this.finished.has(guid)) return;
    const name = this.jobByTask.get(guid);
    if (!name) return;
    const job = this.o.jobs.get(name);
    this.finish(guid, { guid, state: "FAILED", failure_reason: "cancelled", exit_code: null, started_at: job?.startedAt || null, finished_at: this.nowSec() });
    await this.o.client.delete("jobs", name, { propagation: "Background" });
    this.o.jobs.forget(name);
  }

  stop(): void {
    for (const t of this.cleanupTimers.values()) clearTimeout(t);
    this.cleanupTimers.clear();
  }
}

