import type { Database } from "bun:sqlite";
import { LRP, Task, TaskStatus } from "../../model/index.ts";
import type { ProcessRecord } from "./executor.ts";

/** A running process group as persisted for re-adoption. */
export interface ProcessRow {
  record: ProcessRecord;
  /** process_guid of the instance's LRP, or the task guid. */
  owner: string;
  index: number;
  ports: [number, number][];
  cell: string;
  crashCount: number;
  startedAt: number;
}

/**
 * The local backend's memory in SQLite (migration 0004): desired LRPs, tasks
 * with their status, and the process groups that run them. Every write is its
 * own committed statement, done before the OPI call returns.
 */
export class LocalState {
  constructor(private readonly db: Database) {}

  saveLRP(lrp: LRP, now: number): void {
    this.db.query("INSERT INTO opi_local_lrps (process_guid, lrp, updated_at) VALUES (?, ?, ?) ON CONFLICT(process_guid) DO UPDATE SET lrp = excluded.lrp, updated_at = excluded.updated_at").run(lrp.process_guid, JSON.stringify(lrp), now);
  }

  deleteLRP(processGuid: string): void {
    this.db.query("DELETE FROM opi_local_lrps WHERE process_guid = ?").run(processGuid);
  }

  loadLRPs(): LRP[] {
    const rows = this.db.query("SELECT lrp FROM opi_local_lrps ORDER BY process_guid").all() as { lrp: string }[];
    return rows.flatMap((r) => {
      const parsed = LRP.safeParse(JSON.parse(r.lrp));
      return parsed.success ? [parsed.data] : [];
    });
  }

  saveProcess(row: ProcessRow): void {
    const r = row.record;
    this.db
      .query(
        `INSERT OR REPLACE INTO opi_local_processes (guid, kind, owner, idx, pid, pgid, start_ticks, log, ports, cell, crash_count, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.guid, r.kind, row.owner, row.index, r.pid, r.pgid, r.startTicks, JSON.stringify(r.log), JSON.stringify(row.ports), row.cell, row.crashCount, row.startedAt);
  }

  deleteProcess(guid: string): void {
    this.db.query("DELETE FROM opi_local_processes WHERE guid = ?").run(guid);
  }

  loadProcesses(): ProcessRow[] {
    const rows = this.db.query("SELECT * FROM opi_local_processes").all() as Record<string, string | number>[];
    return rows.map((r) => ({
      record: {
        guid: String(r.guid),
        kind: r.kind === "task" ? "task" : "instance",
        pid: Number(r.pid),
        pgid: Number(r.pgid),
        startTicks: String(r.start_ticks),
        log: JSON.parse(String(r.log)),
      },
      owner: String(r.owner),
      index: Number(r.idx),
      ports: JSON.parse(String(r.ports)),
      cell: String(r.cell),
      crashCount: Number(r.crash_count),
      startedAt: Number(r.started_at),
    }));
  }

  saveTask(task: Task, status: TaskStatus, now: number): void {
    this.db
      .query(
        `INSERT INTO opi_local_tasks (guid, task, state, failure_reason, exit_code, started_at, finished_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(guid) DO UPDATE SET state = excluded.state, failure_reason = excluded.failure_reason, exit_code = excluded.exit_code, started_at = excluded.started_at, finished_at = excluded.finished_at`,
      )
      .run(task.guid, JSON.stringify(task), status.state, status.failure_reason, status.exit_code, status.started_at, status.finished_at, now);
  }

  loadTasks(): { task: Task; status: TaskStatus }[] {
    const rows = this.db.query("SELECT * FROM opi_local_tasks ORDER BY created_at, guid").all() as Record<string, string | number | null>[];
    return rows.flatMap((r) => {
      const task = Task.safeParse(JSON.parse(String(r.task)));
      if (!task.success) return [];
      const status = TaskStatus.parse({
        guid: r.guid,
        state: r.state,
        failure_reason: r.failure_reason,
        exit_code: r.exit_code,
        started_at: r.started_at,
        finished_at: r.finished_at,
      });
      return [{ task: task.data, status }];
    });
  }
}
