import type { Config } from "../../../src/config/index.ts";
import { ConfigSchema, type ConfigInput } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { LogLineInput, LogSink } from "../../../src/model/index.ts";
import { createLocalBackend, type LocalBackend, type LocalBackendOptions } from "../../../src/opi/local/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { httpAppFiles, HTTP_START, putDroplet } from "../../support/droplet.ts";
import { tempDir } from "../../support/tmp.ts";

/** An in-memory LogSink that tests can read. */
export class MemoryLogs implements LogSink {
  readonly lines: LogLineInput[] = [];
  append(line: LogLineInput): void {
    this.lines.push(line);
  }
  messages(instanceId?: string): string[] {
    return this.lines.filter((l) => instanceId === undefined || l.instance_id === instanceId).map((l) => l.message);
  }
}

export interface LocalSetup {
  dir: string;
  store: Store;
  config: Config;
  logs: MemoryLogs;
  httpHash: string;
  backend: LocalBackend;
  /** A second backend on the same data dir (after `abandon()` or `stop()` of the first). */
  reopen(extra?: Partial<LocalBackendOptions>): LocalBackend;
  close(): Promise<void>;
}

/** Fast timings for tests: nothing waits for production values. */
export const FAST = { stopGraceMs: 300, startupProbeMs: 10, livenessProbeMs: 50 };

export async function localSetup(opts: { config?: ConfigInput; backend?: Partial<LocalBackendOptions> } = {}): Promise<LocalSetup> {
  const dir = tempDir("eirini-opi-local-");
  const store = openStore(dir);
  const config = ConfigSchema.parse({ dataDir: dir, ...opts.config });
  const logs = new MemoryLogs();
  const httpHash = await putDroplet(store.blobs, httpAppFiles(), HTTP_START);
  const make = (extra: Partial<LocalBackendOptions> = {}) =>
    createLocalBackend({ store, config, logger: silentLogger, logs, timing: FAST, memoryPollMs: 50, logPollMs: 20, ...opts.backend, ...extra });
  const backends: LocalBackend[] = [];
  const backend = make();
  backends.push(backend);
  await backend.start();
  return {
    dir,
    store,
    config,
    logs,
    httpHash,
    backend,
    reopen(extra) {
      const b = make(extra);
      backends.push(b);
      return b;
    },
    async close() {
      for (const b of backends.reverse()) await b.stop().catch(() => {});
      store.close();
    },
  };
}
