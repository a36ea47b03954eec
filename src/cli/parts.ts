import { createRegistryPart } from "../registry/index.ts";
import type { AppliancePart, PartContext } from "./part.ts";
import { createWebUiPart } from "./web-ui-part.ts";

/**
 * The composition root: which parts `eirini local` runs, in start order.
 * Each part is built only through its folder's entry file.
 */
export async function buildParts(ctx: PartContext): Promise<AppliancePart[]> {
  // The registry part exposes `.registry` (composeDropletImage, pullCredentials) for the parts that need it.
  const registry = createRegistryPart(ctx);
  return [registry, createWebUiPart()];
}
