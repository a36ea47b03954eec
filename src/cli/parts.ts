import type { AppliancePart, PartContext } from "./part.ts";

/**
 * The composition root: which parts `eirini local` runs, in start order.
 * Each part is built only through its folder's entry file.
 */
export async function buildParts(_ctx: PartContext): Promise<AppliancePart[]> {
  return [];
}
