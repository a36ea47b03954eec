import { createReadStream, existsSync } from "node:fs";
import { applianceHelp, applianceOptions } from "../appliance-flags.ts";
import { CliError, UsageError, type Command } from "../command.ts";
import { withRegistry } from "./registry-context.ts";

/** `eirini image compose`: turn a droplet file into `<repo>:<droplet hash>` by hand. */
export const imageCommand: Command = {
  name: "image",
  summary: "compose a droplet image in the embedded registry",
  usage: "compose --droplet FILE --stack NAME --repo REPO [--start-command CMD]",
  help: [
    "  --droplet FILE       droplet .tgz (CF layout); stored in the blob store by its sha256",
    "  --stack NAME         an imported stack (`eirini stack list`)",
    "  --repo REPO          repository, e.g. cloudfoundry/my-app; the tag is the droplet hash",
    "  --start-command CMD  overrides staging_info.yml's start_command",
    ...applianceHelp,
  ],
  options: { ...applianceOptions, droplet: { type: "string" }, stack: { type: "string" }, repo: { type: "string" }, "start-command": { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    if (ctx.positionals[0] !== "compose") throw new UsageError(`unknown verb ${JSON.stringify(ctx.positionals[0])}`);
    const v = ctx.values;
    for (const flag of ["droplet", "stack", "repo"]) if (typeof v[flag] !== "string") throw new UsageError(`--${flag} is required`);
    const file = v.droplet as string;
    if (!existsSync(file)) throw new CliError(`droplet file ${file} does not exist`);
    const image = await withRegistry(ctx, async (registry, store) => {
      const { digest } = await store.blobs.put(createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>);
      return registry.composeDropletImage({ dropletHash: digest.slice(7), stack: v.stack as string, repo: v.repo as string, startCommand: v["start-command"] as string | undefined });
    });
    ctx.io.out(`${image.reference}`);
    ctx.io.out(`digest ${image.digest}`);
    return 0;
  },
};
