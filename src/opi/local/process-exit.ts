import type { ExitStatus } from "./executor.ts";
import type { Runtime } from "./runtime.ts";

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** The status a shell would report (128 + signal number when killed); null when the process ended unseen. */
export function exitStatus(exit: ExitStatus): number | null {
  return exit.code ?? (exit.signal ? 128 + (SIGNALS[exit.signal] ?? 0) : null);
}

/** Forgets an ended process group: no re-adoption of it after a restart, and its run directory goes. */
export function releaseProcess(rt: Pick<Runtime, "state" | "executor">, guid: string): Promise<void> {
  rt.state.deleteProcess(guid);
  return rt.executor.cleanup(guid).catch(() => {});
}
