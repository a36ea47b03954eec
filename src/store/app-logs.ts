import type { Database } from "bun:sqlite";
import type { LogLine, LogLineInput, LogSink } from "../model/index.ts";

export interface LogQuery {
  /** Nanoseconds, inclusive. */
  startTime?: bigint;
  /** Nanoseconds, exclusive. */
  endTime?: bigint;
  limit?: number;
  descending?: boolean;
}

export interface StoredLogLine extends Omit<LogLine, "timestamp"> {
  timestamp: bigint;
}

type Listener = (line: StoredLogLine) => void;

export interface AppLogStoreOptions {
  /** Lines kept per source; the oldest are dropped first. */
  maxPerSource?: number;
  /** Pending lines are written in one transaction after this delay. */
  flushDelayMs?: number;
  now?: () => bigint;
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/**
 * App and staging log lines, bounded per source (app guid), with live
 * subscribers. Lines reach subscribers at once and SQLite in small batches,
 * so a flooding app costs one transaction per batch, not per line.
 */
export class AppLogStore implements LogSink {
  private pending: StoredLogLine[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly counts = new Map<string, number>();
  private readonly max: number;
  private readonly delay: number;
  private readonly now: () => bigint;
  private closed = false;

  constructor(private readonly db: Database, opts: AppLogStoreOptions = {}) {
    this.max = opts.maxPerSource ?? 10_000;
    this.delay = opts.flushDelayMs ?? 50;
    this.now = opts.now ?? nowNs;
  }

  append(input: LogLineInput): void {
    const line: StoredLogLine = {
      source_id: input.source_id,
      timestamp: input.timestamp === undefined ? this.now() : BigInt(input.timestamp),
      source_type: input.source_type,
      instance_id: input.instance_id ?? "",
      stream: input.stream,
      message: input.message,
    };
    for (const key of [line.source_id, "*"]) {
      for (const l of this.listeners.get(key) ?? []) {
        try {
          l(line);
        } catch {
          // A broken subscriber must not stop the others or the writer.
        }
      }
    }
    if (this.closed) return;
    this.pending.push(line);
    if (this.pending.length >= 1000) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.delay);
  }

  /** Live lines for one source (or "*" for all). Returns unsubscribe. */
  subscribe(sourceId: string, listener: Listener): () => void {
    let set = this.listeners.get(sourceId);
    if (!set) this.listeners.set(sourceId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(sourceId);
    };
  }

  /** Stored lines of a source, oldest first unless `descending`. */
  read(sourceId: string, q: LogQuery = {}): StoredLogLine[] {
    this.flush();
    const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
    const order = q.descending ? "DESC" : "ASC";
    const stmt = this.db.query(
      `SELECT source_id, timestamp, source_type, instance_id, stream, message FROM log_lines
       WHERE source_id = ?1 AND timestamp >= ?2 AND timestamp < ?3
       ORDER BY timestamp ${order}, id ${order} LIMIT ?4`,
    );
    stmt.safeIntegers(true);
    const rows = stmt.all(sourceId, q.startTime ?? 0n, q.endTime ?? 9_223_372_036_854_775_807n, limit) as StoredLogLine[];
    return rows.map((r) => ({ ...r, timestamp: BigInt(r.timestamp) }));
  }

  /** Forget every line of a source (app deleted). */
  deleteSource(sourceId: string): void {
    this.flush();
    this.db.query("DELETE FROM log_lines WHERE source_id = ?").run(sourceId);
    this.counts.delete(sourceId);
  }

  /** Write pending lines now and trim sources past their bound. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    const insert = this.db.prepare("INSERT INTO log_lines (source_id, timestamp, source_type, instance_id, stream, message) VALUES (?, ?, ?, ?, ?, ?)");
    this.db.transaction(() => {
      const touched = new Map<string, number>();
      for (const l of batch) {
        insert.run(l.source_id, l.timestamp, l.source_type, l.instance_id, l.stream, l.message);
        touched.set(l.source_id, (touched.get(l.source_id) ?? 0) + 1);
      }
      for (const [source, added] of touched) this.trim(source, added);
    })();
  }

  private trim(source: string, added: number): void {
    let count = this.counts.get(source);
    if (count === undefined) {
      count = (this.db.query("SELECT COUNT(*) AS n FROM log_lines WHERE source_id = ?").get(source) as { n: number }).n;
    } else {
      count += added;
    }
    if (count > this.max) {
      this.db
        .query("DELETE FROM log_lines WHERE id IN (SELECT id FROM log_lines WHERE source_id = ? ORDER BY id ASC LIMIT ?)")
        .run(source, count - this.max);
      count = this.max;
    }
    this.counts.set(source, count);
  }

  close(): void {
    this.flush();
    this.closed = true;
    this.listeners.clear();
  }
}
