/**
 * The appliance from the same sources in a plain `bun` process (no --smol),
 * for the one thing the shipped binary cannot be asked from outside: its RSS
 * after a forced full GC. Started with the same config as the binary; on a
 * line "rss" on stdin it prints `{"rss":MB,"rssAfterGc":MB}`.
 *
 * Usage: bun appliance-runner.ts CONFIG_FILE DATA_DIR PORT
 */
import { startAppliance } from "../../../src/cli/index.ts";
import { loadConfig } from "../../../src/config/index.ts";
import { createLogger } from "../../../src/log/index.ts";

const [configFile, dataDir, port] = process.argv.slice(2);
const config = loadConfig({ file: configFile, env: process.env, flags: { dataDir, port: Number(port), host: "127.0.0.1" } as never });
const appliance = await startAppliance({ config, logger: createLogger({ level: "error" }), env: process.env });
console.log(JSON.stringify({ url: appliance.url }));
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(require("node:fs").readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;
for await (const chunk of Bun.stdin.stream()) {
  for (const line of new TextDecoder().decode(chunk).split("\n")) {
    if (line.trim() === "rss") {
      const before = rss();
      Bun.gc(true);
      Bun.gc(true);
      console.log(JSON.stringify({ rss: before, rssAfterGc: rss() }));
    }
  }
}
await appliance.stop();
process.exit(0);
