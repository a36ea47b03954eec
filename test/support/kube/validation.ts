import { fromLabelSelector, matches, SelectorError } from "./selector.ts";
import type { ResourceInfo } from "./resources.ts";
import type { FieldError } from "./status.ts";

/**
 * Server-side validation the real API server does and our backend depends on:
 * object names (DNS-1123 label / subdomain, DNS-1035 for Services), label
 * keys and values, annotation size, StatefulSet selector vs template labels,
 * immutable fields on update, pod template basics.
 */
type Obj = Record<string, any>;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function nameErrors(name: unknown, rule: ResourceInfo["nameRule"], field = "metadata.name"): FieldError[] {
  if (typeof name !== "string" || name === "") return [{ field, message: "Required value: name or generateName is required" }];
  if (rule === "label" && (name.length > 63 || !DNS1123_LABEL.test(name)))
    return [{ field, message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')${name.length > 63 ? " and must be no more than 63 characters" : ""}` }];
  if (rule === "label1035" && (name.length > 63 || !DNS1035_LABEL.test(name)))
    return [{ field, message: `Invalid value: ${JSON.stringify(name)}: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')` }];
  if (rule === "subdomain" && (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)))
    return [{ field, message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` }];
  return [];
}

function keyErrors(key: string, field: string): FieldError[] {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : "";
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
    return [{ field, message: `Invalid value: ${JSON.stringify(key)}: prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` }];
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name))
    return [{ field, message: `Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character${name.length > 63 ? "; name part must be no more than 63 characters" : ""}` }];
  return [];
}

export function labelErrors(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== "object") return [{ field, message: "Invalid value: must be a map of strings" }];
  const out: FieldError[] = [];
  for (const [k, v] of Object.entries(labels as Obj)) {
    out.push(...keyErrors(k, field));
    if (typeof v !== "string") out.push({ field, message: `Invalid value: ${JSON.stringify(v)}: must be a string` });
    else if (v.length > 63) out.push({ field, message: `Invalid value: ${JSON.stringify(v)}: must be no more than 63 characters` });
    else if (!LABEL_VALUE.test(v)) out.push({ field, message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
  }
  return out;
}

export function annotationErrors(annotations: unknown, field: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  const out: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations as Obj)) {
    out.push(...keyErrors(k, field));
    if (typeof v !== "string") out.push({ field, message: `Invalid value: ${JSON.stringify(k)}: annotation values must be strings` });
    total += k.length + String(v).length;
  }
  if (total > 256 * 1024) out.push({ field, message: `Too long: must have at most 262144 bytes` });
  return out;
}

function metaErrors(meta: Obj | undefined, field: string): FieldError[] {
  return [...labelErrors(meta?.labels, `${field}.labels`), ...annotationErrors(meta?.annotations, `${field}.annotations`)];
}

function podSpecErrors(spec: Obj | undefined, field: string): FieldError[] {
  const out: FieldError[] = [];
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) return [{ field: `${field}.containers`, message: "Required value" }];
  for (const [i, c] of [...containers, ...(spec?.initContainers ?? [])].entries()) {
    const f = `${field}.containers[${i}]`;
    out.push(...nameErrors(c?.name, "label", `${f}.name`));
    if (typeof c?.image !== "string" || c.image.trim() === "") out.push({ field: `${f}.image`, message: "Required value" });
    for (const e of c?.env ?? []) {
      if (typeof e?.name !== "string" || !ENV_NAME.test(e.name))
        out.push({ field: `${f}.env.name`, message: `Invalid value: ${JSON.stringify(e?.name)}: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit` });
    }
  }
  return out;
}

function selectorAgrees(sel: Obj | undefined, labels: Obj | undefined, field: string): FieldError[] {
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0))
    return [{ field: "spec.selector", message: "Invalid value: empty selector is invalid for deployment" }];
  try {
    if (!matches(fromLabelSelector(sel), labels)) return [{ field, message: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\`` }];
  } catch (err) {
    if (err instanceof SelectorError) return [{ field: "spec.selector", message: err.message }];
    throw err;
  }
  return [];
}

const stableStringify = (v: unknown): string => JSON.stringify(v, (_k, val) => (val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b))) : val));

/** Errors for `obj` as a `info.resource` object; `old` is set on updates. */
export function validate(info: ResourceInfo, obj: Obj, old?: Obj): FieldError[] {
  const out: FieldError[] = [...nameErrors(obj.metadata?.name, info.nameRule), ...metaErrors(obj.metadata, "metadata")];
  if (old && obj.metadata?.name !== old.metadata?.name) out.push({ field: "metadata.name", message: "Invalid value: field is immutable" });
  const spec = obj.spec as Obj | undefined;
  switch (info.resource) {
    case "statefulsets": {
      out.push(...metaErrors(spec?.template?.metadata, "spec.template.metadata"));
      out.push(...selectorAgrees(spec?.selector, spec?.template?.metadata?.labels, "spec.template.metadata.labels"));
      out.push(...podSpecErrors(spec?.template?.spec, "spec.template.spec"));
      const rp = spec?.template?.spec?.restartPolicy;
      if (rp !== undefined && rp !== "Always") out.push({ field: "spec.template.spec.restartPolicy", message: `Unsupported value: ${JSON.stringify(rp)}: supported values: "Always"` });
      if (spec?.podManagementPolicy !== undefined && !["OrderedReady", "Parallel"].includes(spec.podManagementPolicy))
        out.push({ field: "spec.podManagementPolicy", message: `Unsupported value: ${JSON.stringify(spec.podManagementPolicy)}` });
      if (typeof spec?.replicas === "number" && spec.replicas < 0) out.push({ field: "spec.replicas", message: "Invalid value: must be greater than or equal to 0" });
      if (old) {
        const mutable = new Set(["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"]);
        const strip = (s: Obj | undefined) => Object.fromEntries(Object.entries(s ?? {}).filter(([k]) => !mutable.has(k)));
        if (stableStringify(strip(spec)) !== stableStringify(strip(old.spec)))
          out.push({ field: "spec", message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden" });
      }
      break;
    }
    case "jobs": {
      out.push(...metaErrors(spec?.template?.metadata, "spec.template.metadata"));
      out.push(...podSpecErrors(spec?.template?.spec, "spec.template.spec"));
      const rp = spec?.template?.spec?.restartPolicy;
      if (rp !== "Never" && rp !== "OnFailure") out.push({ field: "spec.template.spec.restartPolicy", message: `Required value: valid values: "OnFailure", "Never"` });
      if (old && stableStringify(spec?.template) !== stableStringify(old.spec?.template)) out.push({ field: "spec.template", message: "Invalid value: field is immutable" });
      break;
    }
    case "pods":
      out.push(...podSpecErrors(spec, "spec"));
      break;
    case "services": {
      const ports = spec?.ports;
      if (spec?.type !== "ExternalName" && (!Array.isArray(ports) || ports.length === 0)) out.push({ field: "spec.ports", message: "Required value" });
      for (const [i, p] of (ports ?? []).entries()) {
        if (typeof p?.port !== "number" || p.port < 1 || p.port > 65535) out.push({ field: `spec.ports[${i}].port`, message: "Invalid value: must be between 1 and 65535, inclusive" });
      }
      out.push(...labelErrors(spec?.selector, "spec.selector"));
      break;
    }
    case "poddisruptionbudgets":
      if (spec?.minAvailable !== undefined && spec?.maxUnavailable !== undefined) out.push({ field: "spec", message: "Invalid value: minAvailable and maxUnavailable cannot be both set" });
      break;
    case "ingresses":
      for (const [i, r] of (spec?.rules ?? []).entries()) {
        if (r?.host !== undefined && (typeof r.host !== "string" || !DNS1123_SUBDOMAIN.test(r.host))) out.push({ field: `spec.rules[${i}].host`, message: `Invalid value: ${JSON.stringify(r?.host)}: a lowercase RFC 1123 subdomain` });
      }
      break;
  }
  return out;
}
