import { badRequest } from "./status.ts";

/**
 * PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
 * strategic merge patch. Strategic merge is applied like a merge patch except
 * that lists of named items (containers, env, ports, volumes) merge by name,
 * which is what the API server does for the fields our code touches.
 */
type Json = any;

export function mergePatch(target: Json, patch: Json, strategic = false): Json {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, Json> = target && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (strategic && Array.isArray(v) && Array.isArray(out[k]) && v.every((e) => e && typeof e === "object" && "name" in e)) {
      const merged = [...out[k]];
      for (const item of v) {
        const i = merged.findIndex((m) => m?.name === item.name);
        if ((item as Record<string, unknown>)["$patch"] === "delete") {
          if (i >= 0) merged.splice(i, 1);
        } else if (i >= 0) merged[i] = mergePatch(merged[i], item, true);
        else merged.push(item);
      }
      out[k] = merged;
    } else out[k] = mergePatch(out[k], v, strategic);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split("/").map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  let doc = structuredClone(target);
  for (const op of ops) {
    const parts = pointer(op?.path ?? "");
    const last = parts.pop();
    let parent: Json = doc;
    for (const p of parts) {
      parent = parent?.[Array.isArray(parent) ? Number(p) : p];
      if (parent === undefined) throw badRequest(`json patch path ${op.path} does not exist`);
    }
    if (last === undefined) {
      if (op.op === "replace" || op.op === "add") doc = structuredClone(op.value);
      continue;
    }
    const idx = Array.isArray(parent) ? (last === "-" ? parent.length : Number(last)) : last;
    switch (op.op) {
      case "add":
        if (Array.isArray(parent)) parent.splice(idx as number, 0, op.value);
        else parent[idx] = op.value;
        break;
      case "replace":
        if (!(idx in parent)) throw badRequest(`json patch replace: path ${op.path} does not exist`);
        parent[idx] = op.value;
        break;
      case "remove":
        if (!(idx in parent)) throw badRequest(`json patch remove: path ${op.path} does not exist`);
        if (Array.isArray(parent)) parent.splice(idx as number, 1);
        else delete parent[idx];
        break;
      case "test":
        if (JSON.stringify(parent[idx]) !== JSON.stringify(op.value)) throw badRequest(`json patch test failed at ${op.path}`);
        break;
      default:
        throw badRequest(`unsupported json patch op ${JSON.stringify(op?.op)}`);
    }
  }
  return doc;
}
