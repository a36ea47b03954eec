import { afterAll, expect, test } from "bun:test";
import { openStore } from "../../src/store/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

test("lines reach subscribers at once and storage in order, bounded per source", () => {
  const store = openStore(tempDir());
  const logs = new (store.logs.constructor as typeof import("../../src/store/index.ts").AppLogStore)(store.db, { maxPerSource: 5 });
  const live: string[] = [];
  const off = logs.subscribe("app1", (l) => live.push(l.message));
  for (let i = 0; i < 8; i++) logs.append({ source_id: "app1", timestamp: BigInt(1000 + i), source_type: "APP/PROC/WEB", instance_id: "0", stream: "OUT", message: `line ${i}` });
  logs.append({ source_id: "app2", timestamp: 5000n, source_type: "STG", stream: "ERR", message: "other" });
  off();
  logs.append({ source_id: "app1", timestamp: 2000n, source_type: "STG", stream: "OUT", message: "after unsubscribe" });
  expect(live).toHaveLength(8);
  const stored = logs.read("app1", { limit: 100 });
  expect(stored.map((l) => l.message)).toEqual(["line 4", "line 5", "line 6", "line 7", "after unsubscribe"]);
  expect(stored[0]!.timestamp).toBe(1004n);
  expect(logs.read("app1", { descending: true, limit: 2 }).map((l) => l.message)).toEqual(["after unsubscribe", "line 7"]);
  expect(logs.read("app1", { startTime: 1005n, endTime: 1007n }).map((l) => l.message)).toEqual(["line 5", "line 6"]);
  expect(logs.read("app2")).toEqual([{ source_id: "app2", timestamp: 5000n, source_type: "STG", instance_id: "", stream: "ERR", message: "other" }]);
  logs.deleteSource("app1");
  expect(logs.read("app1")).toEqual([]);
  store.close();
});

test("lines survive a reopen once flushed", () => {
  const dir = tempDir();
  const a = openStore(dir);
  a.logs.append({ source_id: "s", source_type: "STG", stream: "OUT", message: "kept", timestamp: 1n });
  a.close();
  const b = openStore(dir);
  expect(b.logs.read("s").map((l) => l.message)).toEqual(["kept"]);
  b.close();
});
