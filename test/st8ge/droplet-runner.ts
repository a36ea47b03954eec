import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { until } from "./support.ts";

/** A free TCP port on 127.0.0.1 (asked from the kernel). */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

export interface RunningDroplet {
  port: number;
  output: string[];
  stop(): void;
}

/**
 * Starts a droplet by hand, as CF's launcher would: unpack the .tgz, cd into
 * ./app with HOME there, source ./profile.d/*.sh, run the start command with
 * PORT set; resolves once it answers HTTP on that port.
 */
export async function startDroplet(tgz: string, into: string, startCommand: string): Promise<RunningDroplet> {
  const script = 'cd "$HOME" && for f in ../profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; exec /bin/sh -c "$START"';
  return unpackAndServe(tgz, into, 15_000, (port) => ({
    argv: ["/bin/sh", "-c", script],
    env: { PATH: process.env.PATH!, HOME: join(into, "app"), PORT: String(port), START: startCommand },
  }));
}

/**
 * Unpacks `tgz` into `into`, starts what `launch(port)` names as its own
 * process group on a free port, and resolves once it answers HTTP there
 * (killing the group if it exits or never answers within `timeoutMs`).
 */
export async function unpackAndServe(
  tgz: string,
  into: string,
  timeoutMs: number,
  launch: (port: number) => { argv: string[]; env: Record<string, string>; cwd?: string },
): Promise<RunningDroplet> {
  mkdirSync(into, { recursive: true });
  const x = Bun.spawnSync(["tar", "xzf", tgz, "-C", into]);
  if (x.exitCode !== 0) throw new Error(`tar: ${x.stderr.toString()}`);
  const port = freePort();
  const l = launch(port);
  const child: ChildProcess = spawn(l.argv[0]!, l.argv.slice(1), { cwd: l.cwd, env: l.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
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
    }, timeoutMs, "the app to answer HTTP");
  } catch (err) {
    stop();
    throw err;
  }
  return { port, output, stop };
}
