import { z } from "zod";

/**
 * One app or staging log line, shaped to become a log-cache envelope:
 * `source_type` is CF's (`STG` for staging, `APP/PROC/WEB` for a web
 * instance, `APP/TASK/<name>` for a task, `CELL`/`API` for platform lines).
 */
export const LogLine = z.object({
  /** The app guid: log-cache's `source_id`. */
  source_id: z.string().min(1),
  /** Nanoseconds since the epoch, as log-cache envelopes carry them. */
  timestamp: z.bigint().or(z.number()),
  source_type: z.string().min(1),
  /** Instance index as a string ("0"), or "" for staging. */
  instance_id: z.string().default(""),
  stream: z.enum(["OUT", "ERR"]),
  message: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;
export type LogLineInput = z.input<typeof LogLine>;

/** Where parts send log lines; the appliance's implementation stores and fans them out. */
export interface LogSink {
  append(line: LogLineInput): void;
}
