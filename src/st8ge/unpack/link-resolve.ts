import { UnsafeArchiveError } from "../errors.ts";

/** Linux gives up after 40 links in one lookup (ELOOP); so do we. */
const MAX_HOPS = 40;

/**
 * Resolves where a symlink really points inside a tree, the way the OS will:
 * component by component, following every link met on the way (`s -> .`
 * then `l1 -> s/..` climbs one directory, which normalising the text of
 * `s/..` alone never shows). `links` maps each link's tree path ("a/b") to
 * its target. Returns the resolved tree path ("" is the root), or throws
 * UnsafeArchiveError when the walk leaves the tree, is absolute, or loops.
 */
export function resolveLink(links: ReadonlyMap<string, string>, linkPath: string): string {
  const target = links.get(linkPath);
  if (target === undefined) throw new Error(`${linkPath} is not a link`);
  const parent = linkPath.split("/").slice(0, -1);
  return walk(links, parent, target, linkPath, { hops: 0 }).join("/");
}

function walk(links: ReadonlyMap<string, string>, from: string[], target: string, linkPath: string, state: { hops: number }): string[] {
  if (target.startsWith("/")) throw new UnsafeArchiveError(`symlink ${JSON.stringify(linkPath)} leads to an absolute path (${target})`);
  const cur = [...from];
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (cur.length === 0) throw new UnsafeArchiveError(`symlink ${JSON.stringify(linkPath)} points outside the tree`);
      cur.pop();
      continue;
    }
    const next = [...cur, part];
    const hop = links.get(next.join("/"));
    if (hop === undefined) {
      cur.push(part);
      continue;
    }
    if (++state.hops > MAX_HOPS) throw new UnsafeArchiveError(`symlink ${JSON.stringify(linkPath)} passes through more than ${MAX_HOPS} links`);
    const resolved = walk(links, cur, hop, linkPath, state);
    cur.length = 0;
    cur.push(...resolved);
  }
  return cur;
}

/** Checks every link of a tree; throws on the first that leaves it. */
export function checkAllLinks(links: ReadonlyMap<string, string>): void {
  for (const path of links.keys()) resolveLink(links, path);
}
