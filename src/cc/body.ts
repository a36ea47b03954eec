import type { Context } from "hono";
import { z } from "zod";
import type { Config } from "../config/index.ts";
import type { BodyLimit } from "../part/index.ts";
import { messageParseError, tooLarge, unprocessable } from "./errors.ts";

/** Multipart framing and the `resources` field around a package's bits. */
export const UPLOAD_OVERHEAD_BYTES = 16 * 1024 * 1024;

/**
 * The CC's routes that may send more (or must send less) than the server's
 * 1 MiB default: the server refuses anything bigger before reading it.
 */
export function ccBodyLimits(config: Config): BodyLimit[] {
  return [
    { method: "POST", path: /^\/uaa\/oauth\/token$/, maxBytes: 64 * 1024 },
    { method: "POST", path: /^\/v3\/packages\/[^/]+\/upload$/, maxBytes: config.staging.maxPackageBytes + UPLOAD_OVERHEAD_BYTES },
    // The CLI matches resources in batches; 100,000 entries of ~150 bytes.
    { method: "POST", path: /^\/v3\/resource_matches$/, maxBytes: 16 * 1024 * 1024 },
    { method: "POST", path: /^\/v3\/spaces\/[^/]+\/actions\/apply_manifest$/, maxBytes: 4 * 1024 * 1024 },
  ];
}

/**
 * Metadata the CLI may send on any create/update. Stored (metadata.ts) on orgs,
 * spaces, apps, processes and routes; accepted and ignored on the rest.
 */
export const Metadata = z.object({ labels: z.record(z.string(), z.string().nullable()).optional(), annotations: z.record(z.string(), z.string().nullable()).optional() }).optional();

/** A start or task command: CC's cap (a longer one cannot be exec'ed anyway: E2BIG). */
export const COMMAND_MAX = 4096;
export const Command = z.string().max(COMMAND_MAX, `Command must be between 1 and ${COMMAND_MAX} characters`);

/** Memory and disk quotas, in MB, as the API bounds them (1 TB). */
export const QUOTA_MAX_MB = 1024 * 1024;

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

/**
 * The whole body as text. The server counts a body of unknown length as it
 * arrives and fails the read past the route's limit: that is a 413, not a
 * server error.
 */
export async function readText(c: Context): Promise<string> {
  try {
    return await c.req.text();
  } catch (err) {
    if (/larger than \d+ bytes/.test((err as Error).message)) throw tooLarge((err as Error).message.replace(/^request body/, "The request body"));
    throw messageParseError(`the request body could not be read (${(err as Error).message})`);
  }
}

/** Parse a JSON body: broken JSON is 400 CF-MessageParseError, a wrong shape 422 CF-UnprocessableEntity. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S, empty?: z.input<S>): Promise<z.output<S>> {
  const text = await readText(c);
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
