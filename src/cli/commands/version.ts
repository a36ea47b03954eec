import pkg from "../../../package.json" with { type: "json" };
import type { Command } from "../command.ts";

export const VERSION: string = pkg.version;

/** `eirini version`: the binary's version and runtime. */
export const versionCommand: Command = {
  name: "version",
  summary: "print the eirini version",
  usage: "",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    ctx.io.out(`eirini ${VERSION} (bun ${Bun.version}, ${process.platform}/${process.arch})`);
    return 0;
  },
};
