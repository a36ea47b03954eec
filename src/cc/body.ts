import type { Context } from "hono";
import { z } from "zod";
import { messageParseError, unprocessable } from "./errors.ts";

/**
 * Metadata the CLI may send on any create/update. Stored (metadata.ts) on orgs,
 * spaces, apps, processes and routes; accepted and ignored on the rest.
 */
export const Metadata = z.object({ labels: z.record(z.string(), z.string().nullable()).optional(), annotations: z.record(z.string(), z.string().nullable()).optional() }).optional();

export const Relationship = z.object({ data: z.object({ guid: z.string().min(1) }) });

/** CC's wording for a zod failure: "Unknown field(s): 'x'" or "Field must ..." lines joined by ", ". */
export function zodDetail(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      if (i.code === "unrecognized_keys") return `Unknown field(s): '${i.keys.join("', '")}'`;
      const path = i.path.join(".");
      return path ? `${path} ${i.message.replace(/^Invalid input: /, "")}` : i.message;
    })
    .join(", ");
}

/** Parse a JSON body: broken JSON is 400 CF-MessageParseError, a wrong shape 422 CF-UnprocessableEntity. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S, empty?: z.input<S>): Promise<z.output<S>> {
  const text = await c.req.text();
  let raw: unknown;
  if (text.trim() === "" && empty !== undefined) raw = empty;
  else {
    try {
      raw = JSON.parse(text);
    } catch {
      throw messageParseError("body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw unprocessable(zodDetail(parsed.error));
  return parsed.data;
}
