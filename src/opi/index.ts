/**
 * OPI contract: `OpiBackend` is the only way Sink and the Cloud Controller
 * reach a scheduler. Backends (`opi/local`, `opi/kube`) implement it and pass
 * the one contract suite in `test/opi/contract.ts`. Field names follow
 * Eirini's OPI (DESIGN.md 3).
 */
export type { OpiBackend, ActualLRP, RouteTarget } from "./backend.ts";
export { OpiNotFoundError, OpiInvalidError } from "./backend.ts";
