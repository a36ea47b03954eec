import { resolve } from "node:path";
import { applianceHelp, applianceOptions } from "../appliance-flags.ts";
import { UsageError, type Command } from "../command.ts";
import { withRegistry } from "./registry-context.ts";

/** `eirini stack import|list|delete`: the root filesystems droplet images are built on. */
export const stackCommand: Command = {
  name: "stack",
  summary: "import, list or delete stacks (root filesystems for droplet images)",
  usage: "import NAME FILE | list | delete NAME",
  help: [
    "  import NAME FILE     FILE is a rootfs tarball (.tar or .tar.gz) or an OCI layout tarball",
    "                       (skopeo copy ... oci-archive:FILE); re-importing re-bases every droplet image",
    "  list                 stacks with their layers and how many images use them",
    "  delete NAME          remove a stack no droplet image uses",
    ...applianceHelp,
  ],
  options: applianceOptions,
  positionals: { min: 1, max: 3 },
  async run(ctx) {
    const [verb, ...args] = ctx.positionals;
    const want = (n: number, usage: string) => {
      if (args.length !== n) throw new UsageError(`usage: eirini stack ${usage}`);
    };
    if (verb === "import") {
      want(2, "import NAME FILE");
      const r = await withRegistry(ctx, (registry) => registry.importStack(args[0]!, resolve(args[1]!)));
      ctx.io.out(`stack ${r.name} imported from ${r.source === "oci-layout" ? "an OCI layout" : "a rootfs tarball"} (${r.layers} layer(s)); ${r.rebased.length} droplet image(s) re-based`);
      return 0;
    }
    if (verb === "list") {
      want(0, "list");
      const stacks = await withRegistry(ctx, async (registry) => registry.listStacks());
      if (stacks.length === 0) {
        ctx.io.out("no stacks; import one with `eirini stack import NAME FILE`");
        return 0;
      }
      ctx.io.out(["name", "source", "layers", "bytes", "images", "updated"].join("\t"));
      for (const s of stacks) ctx.io.out([s.name, s.source, s.layers, s.bytes, s.images, s.updated_at].join("\t"));
      return 0;
    }
    if (verb === "delete") {
      want(1, "delete NAME");
      await withRegistry(ctx, async (registry) => registry.deleteStack(args[0]!));
      ctx.io.out(`stack ${args[0]} deleted`);
      return 0;
    }
    throw new UsageError(`unknown verb ${JSON.stringify(verb)}`);
  },
};
