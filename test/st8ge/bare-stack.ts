import { dropletLaunch } from "../../src/st8ge/index.ts";
import { unpackAndServe, type RunningDroplet } from "./droplet-runner.ts";

export { bareStackPath } from "../support/bare-stack-path.ts";

export type { RunningDroplet as Running } from "./droplet-runner.ts";

/** Unpacks a droplet and starts it as CF's launcher would, with PATH = the bare stack. */
export function runOnBareStack(tgz: string, into: string, startCommand: string, stackPath: string): Promise<RunningDroplet> {
  return unpackAndServe(tgz, into, 20_000, (port) => {
    const l = dropletLaunch(into, startCommand);
    return { argv: l.argv, cwd: l.cwd, env: { PATH: stackPath, PORT: String(port), LANG: "C.UTF-8", ...l.env } };
  });
}
