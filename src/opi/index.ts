/**
 * OPI contract: `OpiBackend` is the only way Sink and the Cloud Controller
 * reach a scheduler. Backends (`opi/local`, `opi/kube`) implement it and pass
 * the one contract suite in `test/opi/contract.ts`. Field names follow
 * Eirini's OPI (DESIGN.md 3). Scheduling hints (`scheduling-hints.ts`) are
 * the backend-neutral reading of the scheduling annotations: the Cloud
 * Controller validates with them, a backend maps them to its scheduler.
 */
export type { OpiBackend, ActualLRP, RouteTarget } from "./backend.ts";
export { OpiNotFoundError, OpiInvalidError } from "./backend.ts";
export { routeKey, normalizePath, pathCovers, type RouteKey } from "./route-key.ts";
export {
  SCHEDULING_PREFIX, SCHEDULING_KEYS, PLACEMENT_LABEL_PREFIX, SchedulingError, parseSchedulingHints, parsePlacementTags,
  type SchedulingHints, type LabelExpression, type Toleration, type AffinityPreset,
} from "./scheduling-hints.ts";
