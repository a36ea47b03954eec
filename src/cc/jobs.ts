import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { job } from "./present.ts";
import { getJob } from "./rows.ts";

/**
 * Jobs: CC answers some writes with 202 and a `Location: /v3/jobs/:guid`
 * the CLI polls (ccv3/job.go: state COMPLETE | FAILED with `errors`). Our
 * writes are applied before answering, so jobs are recorded finished.
 */
export function recordJob(deps: Pick<CcDeps, "db" | "newGuid" | "stamp">, operation: string, errors: { code: number; title: string; detail: string }[] = []): string {
  const guid = deps.newGuid();
  const now = deps.stamp();
  deps.db
    .query("INSERT INTO cc_jobs (guid, operation, state, errors, warnings, created_at, updated_at) VALUES (?, ?, ?, ?, '[]', ?, ?)")
    .run(guid, operation, errors.length ? "FAILED" : "COMPLETE", JSON.stringify(errors), now, now);
  return guid;
}

export function jobLocation(deps: Pick<CcDeps, "baseUrl">, guid: string): string {
  return `${deps.baseUrl()}/v3/jobs/${guid}`;
}

export function jobRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.get("/v3/jobs/:guid", (c) => c.json(job(deps.baseUrl(), getJob(deps.db, c.req.param("guid")))));
  return r;
}
