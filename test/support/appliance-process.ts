import type { Subprocess } from "bun";
import { join } from "node:path";
import { waitFor } from "./poll.ts";

export const REPO_ROOT = join(import.meta.dir, "..", "..");

/** How to start eirini: the compiled binary when EIRINI_BIN is set, else the sources. */
export function eiriniCommand(bin = process.env.EIRINI_BIN): string[] {
  return bin ? [bin] : [process.execPath, join(REPO_ROOT, "src", "main.ts")];
}

export interface RunningEirini {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals | number): Promise<number>;
}

async function drain(stream: ReadableStream<Uint8Array>, sink: (s: string) => void): Promise<void> {
  const dec = new TextDecoder();
  for await (const chunk of stream) sink(dec.decode(chunk, { stream: true }));
}

/** Runs `eirini <args>` to completion and returns its exit code and output. */
export async function runEirini(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...eiriniCommand(), ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Starts `eirini local` with the given args and waits for its "listening" line. */
export async function startEirini(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunningEirini> {
  const proc = Bun.spawn([...eiriniCommand(env.EIRINI_BIN), "local", ...args], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let out = "";
  let err = "";
  void drain(proc.stdout, (s) => (out += s));
  void drain(proc.stderr, (s) => (err += s));
  const url = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`eirini exited with ${proc.exitCode}: ${err.trim()}`);
      return /eirini listening on (\S+)/.exec(out)?.[1];
    },
    { timeoutMs, what: "eirini to listen" },
  ).catch((e: unknown) => {
    proc.kill("SIGKILL");
    throw e;
  });
  return {
    proc,
    url,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}
