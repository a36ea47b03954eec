import { createHash } from "node:crypto";

/**
 * Kubernetes names for CF things. Whatever the app and space are called
 * (unicode, 200 characters, leading digits, dots), the result is a valid
 * DNS-1123 label that starts with a letter (so Services, which need
 * DNS-1035, can reuse it) and leaves room for what Kubernetes appends:
 * a StatefulSet's pods carry `controller-revision-hash: <name>-<10 chars>`,
 * a label capped at 63, so StatefulSet names stay within 52.
 */
export const MAX_STATEFULSET_NAME = 52;

export function shortHash(s: string, len = 10): string {
  return createHash("sha256").update(s).digest("hex").slice(0, len);
}

/** Lower-case ASCII alnum and single dashes, diacritics folded, at most `max` chars, no dash at either end. */
export function sanitize(s: string, max: number): string {
  const folded = s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  return folded
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, max)
    .replace(/-+$/, "");
}

function letterLed(prefix: string, fallback: string): string {
  if (!prefix) return fallback;
  return /^[a-z]/.test(prefix) ? prefix : `x${prefix}`;
}

/** `<app>-<space>` sanitized (at most 40 chars) plus a 10-hex hash of `<guid>-<version>`. */
export function statefulSetName(appName: string, spaceName: string, processGuid: string): string {
  const prefix = letterLed(sanitize(`${appName}-${spaceName}`, 40), "app").slice(0, 40).replace(/-+$/, "");
  return `${prefix}-${shortHash(processGuid)}`;
}

/** One Service (and Ingress) per route of a process. */
export function routeServiceName(hostname: string, port: number, processGuid: string): string {
  const prefix = letterLed(sanitize(hostname.split(".")[0] ?? "", 30), "route").slice(0, 30).replace(/-+$/, "");
  return `${prefix}-r-${shortHash(`${processGuid}|${hostname.toLowerCase()}|${port}`)}`;
}

export function taskJobName(appName: string, taskName: string, taskGuid: string): string {
  const prefix = letterLed(sanitize(`${appName}-${taskName}`, 40), "task").slice(0, 40).replace(/-+$/, "");
  return `${prefix}-${shortHash(taskGuid)}`;
}

export function stagingJobName(appName: string, stagingGuid: string): string {
  const prefix = letterLed(sanitize(`${appName}-stage`, 40), "stage").slice(0, 40).replace(/-+$/, "");
  return `${prefix}-${shortHash(stagingGuid)}`;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** `v` when it is a valid label value, else a sanitized prefix plus a hash (still unique). */
export function labelValue(v: string): string {
  if (v.length <= 63 && LABEL_VALUE.test(v)) return v;
  const prefix = sanitize(v, 40);
  return prefix ? `${prefix}-${shortHash(v)}` : shortHash(v, 16);
}

/** The StatefulSet ordinal at the end of a pod name (`web-3` -> 3), or -1. */
export function podOrdinal(podName: string): number {
  const m = /-(\d+)$/.exec(podName);
  return m ? Number(m[1]) : -1;
}
