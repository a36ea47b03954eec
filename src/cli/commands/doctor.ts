import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import type { Command } from "../command.ts";

/** `eirini doctor`: check what running on Kubernetes needs, and say what to fix. */
export const doctorCommand: Command = {
  name: "doctor",
  summary: "check the Kubernetes setup (kubeconfig, API server, namespace, RBAC, registry, stack)",
  usage: "[--config FILE] [--data-dir DIR]",
  help: applianceHelp,
  options: applianceOptions,
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const config = configFromFlags(ctx);
    const [{ kubeDoctor }, { openStore }, { createRegistry }, { silentLogger }] = await Promise.all([
      import("../../opi/kube/doctor.ts"),
      import("../../store/index.ts"),
      import("../../registry/index.ts"),
      import("../../log/index.ts"),
    ]);
    let stacks: string[] = [];
    let store: ReturnType<typeof openStore> | undefined;
    try {
      store = openStore(config.dataDir);
      stacks = createRegistry({ store, config, tokenKey: "doctor", logger: silentLogger })
        .listStacks()
        .map((s) => s.name);
    } catch {
      stacks = [];
    }
    const checks = await kubeDoctor(config, { stacks: () => stacks });
    store?.close();
    for (const c of checks) {
      ctx.io.out(`${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`);
      if (!c.ok && c.fix) ctx.io.out(`      fix: ${c.fix}`);
    }
    const failed = checks.filter((c) => !c.ok).length;
    ctx.io.out(failed === 0 ? "everything needed for the Kubernetes backend is in place" : `${failed} problem(s) to fix`);
    return failed === 0 ? 0 : 1;
  },
};
