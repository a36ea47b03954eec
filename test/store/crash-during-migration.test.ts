import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase, schemaVersion } from "../../src/store/index.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

// A child process starts a long migration transaction and is killed with SIGKILL mid-way.
const child = `
import { Database } from "bun:sqlite";
import { migrate } from ${JSON.stringify(join(import.meta.dir, "../../src/store/migrate.ts"))};
const db = new Database(process.argv[2] + "/eirini.db", { create: true });
db.exec("PRAGMA journal_mode = WAL");
console.log("migrating");
migrate(db, [{ version: 1, name: "slow", sql: "CREATE TABLE big (x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 200000000) INSERT INTO big SELECT i FROM c;" }]);
console.log("finished");
`;

test("kill -9 during a migration leaves a database the next start opens fine", async () => {
  const dir = tempDir();
  const script = join(dir, "child.ts");
  await Bun.write(script, child);
  const proc = Bun.spawn([process.execPath, script, dir], { stdout: "pipe", stderr: "inherit" });
  let out = "";
  void (async () => {
    for await (const c of proc.stdout) out += new TextDecoder().decode(c);
  })();
  await waitFor(() => out.includes("migrating"), { what: "child to start migrating" });
  // Pages spill into the WAL once the transaction outgrows the cache: the migration is mid-way.
  await waitFor(() => Bun.file(join(dir, "eirini.db-wal")).size > 4 * 1024 * 1024 || out.includes("finished"), { what: "migration to write" });
  proc.kill("SIGKILL");
  await proc.exited;
  expect(out).not.toContain("finished");
  const db = openDatabase(dir);
  expect(schemaVersion(db)).toBeGreaterThan(0);
  expect(db.query("SELECT name FROM sqlite_master WHERE name = 'big'").get()).toBeNull();
  db.close();
});
