import type { Cached } from "./informer.ts";
import { ANNOTATION, APP_CONTAINER, LABEL } from "./keys.ts";
import { podOrdinal } from "./names.ts";

/**
 * What the informer caches keep of each object: only the fields the backend
 * reads. Inputs may be plain JSON (watch events) or client-node model
 * instances (list pages, whose timestamps are Dates), so both are handled.
 */
type Obj = Record<string, any>;

export function epochSeconds(t: unknown): number {
  if (!t) return 0;
  const ms = t instanceof Date ? t.getTime() : Date.parse(String(t));
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

export interface StsRecord extends Cached {
  uid: string;
  processGuid: string;
  guid: string;
  version: string;
  replicas: number;
  /** Desired instances as we last wrote them (annotation): a hand-edited replicas count is put back. */
  instances: number;
  readyReplicas: number;
  /** Template LRP JSON (annotation), routes JSON, last_updated. */
  lrpJson: string;
  routesJson: string;
  lastUpdated: string;
  /** First field where the object differs from what its own annotations describe ("" = none). */
  drift: string;
  /** generation + labels + replicas when drift was computed. */
  fingerprint: string;
  deleting: boolean;
}

export interface PodRecord extends Cached {
  uid: string;
  /** App guid and process type (labels), task name (annotation): where its log lines go. */
  appGuid: string;
  processType: string;
  taskName: string;
  processGuid: string;
  taskGuid: string;
  stagingGuid: string;
  index: number;
  phase: string;
  ready: boolean;
  ip: string;
  node: string;
  restarts: number;
  waitingReason: string;
  waitingMessage: string;
  exitCode: number | null;
  exitReason: string;
  lastExitCode: number | null;
  lastExitReason: string;
  lastFinishedAt: number;
  unschedulable: string;
  createdAt: number;
  startedAt: number;
  deleting: boolean;
}

export interface JobRecord extends Cached {
  uid: string;
  taskGuid: string;
  stagingGuid: string;
  active: number;
  succeeded: number;
  failed: number;
  complete: boolean;
  failedCondition: string;
  startedAt: number;
  finishedAt: number;
}

export interface ServiceRecord extends Cached {
  processGuid: string;
  host: string;
  port: number;
  /** Selector + ports as we would write them, for drift checks. */
  spec: string;
  ownerUid: string;
}

export interface PdbRecord extends Cached {
  processGuid: string;
  spec: string;
  ownerUid: string;
}

export interface EventRecord extends Cached {
  podName: string;
  message: string;
  at: number;
}

const ann = (o: Obj, k: string): string => String(o?.metadata?.annotations?.[k] ?? "");

export function projectPod(o: Obj): PodRecord | null {
  const m = o.metadata ?? {};
  const s = o.status ?? {};
  const cs = ((s.containerStatuses ?? []) as Obj[]).find((c) => c.name === APP_CONTAINER) ?? s.containerStatuses?.[0] ?? {};
  const init = ((s.initContainerStatuses ?? []) as Obj[]).find((c) => c.state?.waiting?.reason && c.state.waiting.reason !== "PodInitializing");
  const waiting = cs.state?.waiting ?? init?.state?.waiting;
  const term = cs.state?.terminated;
  const last = cs.lastState?.terminated;
  const sched = ((s.conditions ?? []) as Obj[]).find((c) => c.type === "PodScheduled" && c.status === "False");
  const ready = ((s.conditions ?? []) as Obj[]).some((c) => c.type === "Ready" && c.status === "True");
  return {
    name: m.name,
    rv: String(m.resourceVersion ?? ""),
    uid: String(m.uid ?? ""),
    appGuid: String(m.labels?.[LABEL.appGuid] ?? ""),
    processType: String(m.labels?.[LABEL.processType] ?? ""),
    taskName: ann(o, ANNOTATION.taskName),
    processGuid: ann(o, ANNOTATION.processGuid),
    taskGuid: ann(o, ANNOTATION.taskGuid),
    stagingGuid: ann(o, ANNOTATION.stagingGuid),
    index: podOrdinal(m.name ?? ""),
    phase: String(s.phase ?? "Pending"),
    ready,
    ip: String(s.podIP ?? ""),
    node: String(o.spec?.nodeName ?? ""),
    restarts: Number(cs.restartCount ?? 0),
    waitingReason: String(waiting?.reason ?? ""),
    waitingMessage: String(waiting?.message ?? ""),
    exitCode: typeof term?.exitCode === "number" ? term.exitCode : null,
    exitReason: String(term?.reason ?? ""),
    lastExitCode: typeof last?.exitCode === "number" ? last.exitCode : null,
    lastExitReason: String(last?.reason ?? ""),
    lastFinishedAt: epochSeconds(last?.finishedAt),
    unschedulable: sched ? String(sched.message ?? sched.reason ?? "Unschedulable") : "",
    createdAt: epochSeconds(m.creationTimestamp),
    startedAt: epochSeconds(cs.state?.running?.startedAt ?? s.startTime),
    deleting: Boolean(m.deletionTimestamp),
  };
}

export function projectJob(o: Obj): JobRecord | null {
  const m = o.metadata ?? {};
  const s = o.status ?? {};
  const conds = (s.conditions ?? []) as Obj[];
  const failed = conds.find((c) => c.type === "Failed" && c.status === "True");
  return {
    name: m.name,
    rv: String(m.resourceVersion ?? ""),
    uid: String(m.uid ?? ""),
    taskGuid: ann(o, ANNOTATION.taskGuid),
    stagingGuid: ann(o, ANNOTATION.stagingGuid),
    active: Number(s.active ?? 0),
    succeeded: Number(s.succeeded ?? 0),
    failed: Number(s.failed ?? 0),
    complete: conds.some((c) => c.type === "Complete" && c.status === "True"),
    failedCondition: failed ? String(failed.message || failed.reason || "failed") : "",
    startedAt: epochSeconds(s.startTime),
    finishedAt: epochSeconds(s.completionTime ?? failed?.lastTransitionTime),
  };
}

export function projectService(o: Obj): ServiceRecord | null {
  const m = o.metadata ?? {};
  return {
    name: m.name,
    rv: String(m.resourceVersion ?? ""),
    processGuid: ann(o, ANNOTATION.processGuid),
    host: ann(o, ANNOTATION.routeHost),
    port: Number(ann(o, ANNOTATION.routePort) || 0),
    spec: serviceSpecKey(o),
    ownerUid: String(m.ownerReferences?.[0]?.uid ?? ""),
  };
}

/** The parts of a route Service we own, in a stable string. */
export function serviceSpecKey(o: Obj): string {
  const ports = ((o.spec?.ports ?? []) as Obj[]).map((p) => `${p.port}>${p.targetPort}`).join(",");
  const sel = Object.entries(o.spec?.selector ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return `${sel}|${ports}|${ann(o, ANNOTATION.routeHost)}`;
}

export function projectPdb(o: Obj): PdbRecord | null {
  const m = o.metadata ?? {};
  return { name: m.name, rv: String(m.resourceVersion ?? ""), processGuid: ann(o, ANNOTATION.processGuid), spec: pdbSpecKey(o), ownerUid: String(m.ownerReferences?.[0]?.uid ?? "") };
}

export function pdbSpecKey(o: Obj): string {
  const sel = Object.entries(o.spec?.selector?.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return `${String(o.spec?.minAvailable ?? "")}|${String(o.spec?.maxUnavailable ?? "")}|${sel}`;
}

export function projectEvent(o: Obj): EventRecord | null {
  const m = o.metadata ?? {};
  if (o.involvedObject?.kind !== "Pod") return null;
  return { name: m.name, rv: String(m.resourceVersion ?? ""), podName: String(o.involvedObject?.name ?? ""), message: String(o.message ?? ""), at: epochSeconds(o.lastTimestamp ?? o.eventTime ?? m.creationTimestamp) };
}

export const labelKeys = LABEL;
