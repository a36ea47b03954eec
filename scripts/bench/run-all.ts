/**
 * Runs every benchmark (`scripts/bench/<name>/index.ts`) in turn against the
 * built binary, or only those named on the command line.
 */
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = import.meta.dir;
const bin = process.env.EIRINI_BIN ?? join(root, "../../dist/eirini");
const wanted = process.argv.slice(2);
const names = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, d.name, "index.ts")))
  .map((d) => d.name)
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();

let failed = 0;
for (const name of names) {
  console.log(`\n# bench: ${name}`);
  const proc = Bun.spawn([process.execPath, join(root, name, "index.ts")], { stdout: "inherit", stderr: "inherit", env: { ...process.env, EIRINI_BIN: bin } });
  const code = await proc.exited;
  if (code !== 0) {
    failed++;
    console.log(`bench ${name} failed with exit code ${code}`);
  }
}
process.exit(failed ? 1 : 0);
