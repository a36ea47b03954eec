import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { dropletLaunch } from "../../src/st8ge/index.ts";
import { freePort } from "./droplet-runner.ts";
import { until } from "./support.ts";

export { bareStackPath } from "../support/bare-stack-path.ts";

export interface Running {
  port: number;
  output: string[];
  stop(): void;
}

/** Unpacks a droplet and starts it as CF's launcher would, with PATH = the bare stack. */
export async function runOnBareStack(tgz: string, into: string, startCommand: string, stackPath: string): Promise<Running> {
  mkdirSync(into, { recursive: true });
  const x = Bun.spawnSync(["tar", "xzf", tgz, "-C", into]);
  if (x.exitCode !== 0) throw new Error(`tar: ${x.stderr.toString()}`);
  const port = freePort();
  const l = dropletLaunch(into, startCommand);
  const child: ChildProcess = spawn(l.argv[0]!, l.argv.slice(1), {
    cwd: l.cwd,
    env: { PATH: stackPath, PORT: String(port), LANG: "C.UTF-8", ...l.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const stop = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`app exited: ${output.join("")}`);
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        return true;
      } catch {
        return false;
      }
    }, 20_000, "the app to answer HTTP");
  } catch (err) {
    stop();
    throw err;
  }
  return { port, output, stop };
}
