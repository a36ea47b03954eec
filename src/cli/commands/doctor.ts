import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import type { Command } from "../command.ts";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/**
 * `eirini doctor`: check what the chosen backend needs, and say what to fix.
 * Local backend: which isolation is active (containers or plain processes)
 * and what containers still need. Kubernetes (`--backend kube`, or a
 * kubeconfig in the config): kubeconfig, API server, namespace, RBAC,
 * registry, stack.
 */
export const doctorCommand: Command = {
  name: "doctor",
  summary: "check the backend's setup (local: container isolation; kube: kubeconfig, API server, namespace, RBAC, registry, stack)",
  usage: "[--config FILE] [--data-dir DIR] [--backend local|kube]",
  help: applianceHelp,
  options: applianceOptions,
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const config = configFromFlags(ctx);
    const [{ openStore }, { createRegistry }, { silentLogger }] = await Promise.all([import("../../store/index.ts"), import("../../registry/index.ts"), import("../../log/index.ts")]);
    let store: ReturnType<typeof openStore> | undefined;
    try {
      store = openStore(config.dataDir);
    } catch {
      store = undefined;
    }
    let failed = 0;
    const print = (checks: Check[]) => {
      for (const c of checks) {
        ctx.io.out(`${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`);
        if (!c.ok && c.fix) ctx.io.out(`      fix: ${c.fix}`);
      }
      failed += checks.filter((c) => !c.ok).length;
    };
    try {
      if (config.backend === "local") {
        const { isolationMode } = await import("../../opi/local/index.ts");
        if (!store) {
          ctx.io.out(`FAIL  data dir: cannot open ${config.dataDir}`);
          failed++;
        } else if (config.local.isolation === "process") {
          ctx.io.out("local backend: apps and staging run as plain processes (local.isolation: process): no container isolation");
        } else {
          const mode = isolationMode(store, config);
          ctx.io.out(
            mode.mode === "container"
              ? "local backend: apps, tasks and staging run in containers (runc)"
              : "local backend: CONTAINERS UNAVAILABLE: apps and staging would run as plain processes with the appliance's privileges",
          );
          print(mode.checks);
        }
      }
      if (config.backend === "kube" || config.kube.kubeconfig || config.kube.context) {
        const { kubeDoctor } = await import("../../opi/kube/doctor.ts");
        let stacks: string[] = [];
        try {
          stacks = store ? createRegistry({ store, config, tokenKey: "doctor", logger: silentLogger }).listStacks().map((s) => s.name) : [];
        } catch {
          stacks = [];
        }
        print(await kubeDoctor(config, { stacks: () => stacks }));
      }
    } finally {
      store?.close();
    }
    const what = config.backend === "kube" ? "the Kubernetes backend" : "the local backend";
    ctx.io.out(failed === 0 ? `everything needed for ${what} is in place` : `${failed} problem(s) to fix`);
    return failed === 0 ? 0 : 1;
  },
};
