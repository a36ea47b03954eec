/** Runs a helper program (runc, ip, mount, a CNI plugin) and returns its output; throws with its stderr on failure. */
export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${argv.slice(0, 3).join(" ")} failed (${result.code}): ${(result.stderr || result.stdout).trim().split("\n").slice(-3).join(" | ")}`);
  }
}

export interface RunOptions {
  env?: Record<string, string>;
  stdin?: string;
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  /** File descriptors for the child's stdout/stderr (then they are not captured). */
  stdio?: { stdout: number; stderr: number };
  /** Work nobody waits for (warm pool, cleanup): run at the lowest CPU priority so starts go first. */
  background?: boolean;
}

/** The appliance's PATH plus the sbin directories where ip, iptables and runc live (a root shell without them is common). */
export const TOOL_PATH = `${process.env.PATH ?? "/usr/bin:/bin"}:/usr/local/sbin:/usr/sbin:/sbin`;

export async function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const proc = Bun.spawn(opts.background ? ["nice", "-n", "19", ...argv] : argv, {
    env: opts.env ?? { PATH: TOOL_PATH },
    stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    stdout: opts.stdio ? opts.stdio.stdout : "pipe",
    stderr: opts.stdio ? opts.stdio.stderr : "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    opts.stdio ? "" : new Response(proc.stdout as ReadableStream).text(),
    opts.stdio ? "" : new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  const result = { stdout, stderr, code };
  if (code !== 0 && !opts.allowFail) throw new CommandError(argv, result);
  return result;
}
