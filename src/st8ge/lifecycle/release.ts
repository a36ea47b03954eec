import { parse } from "yaml";
import { z } from "zod";

const Release = z
  .object({
    default_process_types: z.record(z.string(), z.string()).nullish(),
  })
  .passthrough();

/** What a buildpack's `bin/release` printed, checked; throws a one-line Error when it is not valid release YAML. */
export function parseRelease(text: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`bin/release printed invalid YAML: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  const parsed = Release.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`bin/release printed YAML that is not a release description (${issue.path.join(".") || "document"}: ${issue.message})`);
  }
  return parsed.data.default_process_types ?? {};
}

/** Process types from a Procfile (`name: command` lines); blank and `#` lines are skipped. */
export function parseProcfile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([A-Za-z0-9_-]+)\s*:\s*(.+)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** `staging_info.yml` as CF droplets carry it (JSON is valid YAML; CF writes it this way too). */
export function stagingInfo(detectedBuildpack: string, startCommand: string): string {
  return JSON.stringify({ detected_buildpack: detectedBuildpack, start_command: startCommand }) + "\n";
}
