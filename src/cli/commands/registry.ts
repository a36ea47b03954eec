import { applianceHelp, applianceOptions } from "../appliance-flags.ts";
import { UsageError, type Command } from "../command.ts";
import { withRegistry } from "./registry-context.ts";

/** `eirini registry gc`: sweep unreferenced registry blobs and abandoned uploads now. */
export const registryCommand: Command = {
  name: "registry",
  summary: "registry maintenance (gc)",
  usage: "gc [--data-dir DIR]",
  help: ["  gc                   remove blobs no manifest or stack references, and abandoned uploads", ...applianceHelp],
  options: applianceOptions,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    if (ctx.positionals[0] !== "gc") throw new UsageError(`unknown verb ${JSON.stringify(ctx.positionals[0])}`);
    const r = await withRegistry(ctx, async (registry) => registry.gc());
    ctx.io.out(`removed ${r.blobsRemoved} blob(s) (${r.bytesFreed} bytes), ${r.uploadsExpired} abandoned upload(s), ${r.tempFilesRemoved} temp file(s)`);
    return 0;
  },
};
