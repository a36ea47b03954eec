import { expect, test } from "bun:test";
import { createLogger } from "../../src/log/index.ts";

const fixed = () => new Date("2026-01-02T03:04:05.000Z");

test("json lines carry time, level, msg and fields", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "json", write: (l) => lines.push(l), now: fixed }).child({ part: "sink" });
  log.info("converged", { n: 3, err: new Error("boom") });
  expect(JSON.parse(lines[0]!)).toEqual({ time: "2026-01-02T03:04:05.000Z", level: "info", msg: "converged", part: "sink", n: 3, err: "boom" });
});

test("text format is readable and levels filter", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (l) => lines.push(l), now: fixed });
  log.info("hidden");
  log.warn("disk low", { path: "/data dir", free: 10 });
  expect(lines).toEqual(['2026-01-02T03:04:05.000Z WARN  disk low path="/data dir" free=10']);
});
