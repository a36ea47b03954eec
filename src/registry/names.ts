import { OciError } from "./errors.ts";

// The distribution spec's grammar; separators sit between alphanumerics, so `..` and leading dots never match.
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_SHAPE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const MAX_NAME = 255;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME && NAME.test(name);
}

/** Throws NAME_INVALID unless `name` follows the spec's repository name grammar. */
export function assertRepositoryName(name: string): void {
  if (!isRepositoryName(name)) throw new OciError("NAME_INVALID", "invalid repository name", 400, { name });
}

export function isTag(ref: string): boolean {
  return TAG.test(ref);
}

/** A manifest reference is either a digest (`alg:hex`) or a tag. */
export function parseReference(ref: string): { digest: string } | { tag: string } {
  if (ref.includes(":")) {
    if (!DIGEST_SHAPE.test(ref)) throw new OciError("DIGEST_INVALID", "invalid digest", 400, { digest: ref });
    return { digest: ref };
  }
  if (!isTag(ref)) throw new OciError("MANIFEST_INVALID", "invalid tag", 400, { tag: ref });
  return { tag: ref };
}
