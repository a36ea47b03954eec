import { chmodSync, copyFileSync, renameSync } from "node:fs";

/**
 * `eirini launch`: the process launcher inside an app pod (DESIGN.md 6). It
 * takes CF_INSTANCE_INDEX from the StatefulSet pod's ordinal (POD_NAME from
 * the downward API, else the hostname), sources the buildpacks' profile.d
 * scripts, runs the start command, forwards signals and exits with its
 * status. `--install DEST` copies this binary (the init container's job).
 */
export function instanceIndex(podName: string | undefined): string | undefined {
  const m = /-(\d+)$/.exec(podName ?? "");
  return m ? String(Number(m[1])) : undefined;
}

export const PROFILE_SCRIPT = [
  // CF's launcher sets DEPS_DIR: buildpacks' profile.d scripts find their runtimes through it.
  'export DEPS_DIR="${DEPS_DIR:-${EIRINI_HOME_DIR:-/home/vcap}/deps}"',
  'cd "${EIRINI_APP_DIR:-/home/vcap/app}" 2>/dev/null || true',
  'for f in "${EIRINI_HOME_DIR:-/home/vcap}"/profile.d/*.sh "${EIRINI_APP_DIR:-/home/vcap/app}"/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done',
  'exec /bin/sh -c "$1"',
].join("\n");

export interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
}

/** What to run: one start command goes through the shell (profile.d first); several words with noProfile run as is. */
export function launchPlan(command: string[], env: Record<string, string | undefined>, opts: { noProfile?: boolean; noIndex?: boolean; hostname?: string }): LaunchPlan {
  if (command.length === 0) throw new Error("no start command given (eirini launch -- COMMAND)");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  if (!opts.noIndex) {
    const index = instanceIndex(env.POD_NAME) ?? instanceIndex(opts.hostname);
    if (index !== undefined) out.CF_INSTANCE_INDEX = index;
  }
  if (opts.noProfile) return { argv: command, env: out };
  return { argv: ["/bin/sh", "-c", PROFILE_SCRIPT, "launcher", command.join(" ")], env: out };
}

/** Copies the running binary to `dest` atomically, executable. */
export function installLauncher(dest: string, source = process.execPath): void {
  const tmp = `${dest}.tmp-${process.pid}`;
  copyFileSync(source, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, dest);
}

/** Runs the plan with inherited stdio; resolves to the exit code (128 + signal number when killed). */
export async function runLaunch(plan: LaunchPlan): Promise<number> {
  const child = Bun.spawn(plan.argv, { env: plan.env, stdio: ["inherit", "inherit", "inherit"] });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = (["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const code = await child.exited;
  for (const [s, h] of handlers) process.off(s, h);
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return child.signalCode ? 128 + (signals[child.signalCode] ?? 0) : code;
}
