import type { z } from "zod";
import { LRP as LRPSchema, processGuid, type LRP } from "../../model/index.ts";
import { OpiInvalidError } from "../backend.ts";

/** Parses what an OPI caller sent, naming every bad field in one OpiInvalidError. */
export function parseOrInvalid<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new OpiInvalidError(`invalid ${what}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** An LRP whose process_guid matches its guid and version, since every lookup is by process_guid. */
export function parseLRP(input: unknown): LRP {
  const lrp = parseOrInvalid(LRPSchema, input, "LRP");
  const expected = processGuid(lrp.guid, lrp.version);
  if (lrp.process_guid !== expected) throw new OpiInvalidError(`process_guid must be <guid>-<version> (${expected})`);
  return lrp;
}
