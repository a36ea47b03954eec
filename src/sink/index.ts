/**
 * Sink contract: the convergence loop. `new Sink({source, opi, ...})` keeps
 * the OPI backend matching a `DesiredStateSource` (level-triggered: periodic
 * full pass + keyed, deduplicating work queue fed by change nudges, per-key
 * retry with backoff). It talks to schedulers only through `OpiBackend`.
 */
export { Sink, type SinkOptions, type SinkStats } from "./sink.ts";
export type { DesiredStateSource, DesiredStamp } from "./source.ts";
export { WorkQueue, defaultBackoff, type WorkQueueOptions } from "./work-queue.ts";
export { convergeProcess, sameDesired, type ConvergeAction } from "./converge.ts";
export { createSinkPart, type SinkPart } from "./part.ts";
