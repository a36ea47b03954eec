import type { Config } from "../../config/index.ts";
import { containerSupport, type SupportCheck } from "../../container/index.ts";
import type { Store } from "../../store/index.ts";
import { findStack, stackHint, type StackSource } from "./stack.ts";

export type IsolationMode =
  | { mode: "container"; stack: StackSource; checks: SupportCheck[] }
  | { mode: "process"; warning: string; checks: SupportCheck[] };

/**
 * Which executor the local backend uses: containers when the config asks for
 * them (the default) and this machine can run them (root, runc, cgroups,
 * overlayfs, CNI plugins, a stack); otherwise plain processes, with the
 * reason and what to install (logged once, loudly, and shown by `eirini doctor`).
 */
export function isolationMode(store: Store, config: Config): IsolationMode {
  if (config.local.isolation === "process") return { mode: "process", warning: "", checks: [] };
  const support = containerSupport();
  const stack = findStack(store, config);
  const checks: SupportCheck[] = [
    ...support.checks,
    {
      name: "stack",
      ok: stack.kind !== "missing",
      detail: stack.kind === "dir" ? `rootfs directory ${stack.path}` : stack.kind === "imported" ? `imported stack ${stack.name} (${stack.layers.length} layer(s))` : `stack ${stack.name} not found`,
      fix: stackHint(stack.kind === "missing" && !stack.name.startsWith("/") ? stack.name : config.staging.defaultStack),
    },
  ];
  const missing = checks.filter((c) => !c.ok);
  if (missing.length === 0) return { mode: "container", stack, checks };
  const warning = `Containers need: ${missing.map((c) => `${c.name} (${c.detail}; fix: ${c.fix})`).join("; ")}. Set local.isolation: process to silence this.`;
  return { mode: "process", warning, checks };
}
