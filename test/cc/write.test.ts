import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { afterCommit, write } from "../../src/cc/write.ts";

/** `write` commits, then runs the effects and nudges of that change; a rollback runs none of them. */
function fixture() {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE t (v TEXT)");
  const changed: string[] = [];
  return { db, changed, deps: { db, changed: (c: { app_guid: string }) => void changed.push(c.app_guid) } };
}

test("effects run after the commit, in order, with the nudges after them", () => {
  const { db, changed, deps } = fixture();
  const seen: string[] = [];
  write(deps, () => {
    db.query("INSERT INTO t VALUES ('a')").run();
    afterCommit(() => seen.push(`effect sees ${(db.query("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n} row`));
    afterCommit(() => seen.push("second"));
    expect(seen).toEqual([]);
  }, () => ["app-1"]);
  expect(seen).toEqual(["effect sees 1 row", "second"]);
  expect(changed).toEqual(["app-1"]);
});

test("a write that throws rolls back and runs no effect and no nudge", () => {
  const { db, changed, deps } = fixture();
  const seen: string[] = [];
  expect(() =>
    write(deps, () => {
      db.query("INSERT INTO t VALUES ('a')").run();
      afterCommit(() => seen.push("must not run"));
      throw new Error("boom");
    }, () => ["app-1"]),
  ).toThrow("boom");
  expect(seen).toEqual([]);
  expect(changed).toEqual([]);
  expect((db.query("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n).toBe(0);
  // Outside a write an effect runs at once.
  afterCommit(() => seen.push("now"));
  expect(seen).toEqual(["now"]);
});

test("a write inside a write joins it: its effects and nudges wait for the outer commit", () => {
  const { db, changed, deps } = fixture();
  const seen: string[] = [];
  write(deps, () => {
    write(deps, () => {
      db.query("INSERT INTO t VALUES ('inner')").run();
      afterCommit(() => seen.push("inner effect"));
    }, () => ["inner-app"]);
    expect(seen).toEqual([]);
    expect(changed).toEqual([]);
  }, () => ["outer-app"]);
  expect(seen).toEqual(["inner effect"]);
  expect(changed.sort()).toEqual(["inner-app", "outer-app"]);
});
