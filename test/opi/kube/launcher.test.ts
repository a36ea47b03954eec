import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { instanceIndex, launchPlan, runLaunch } from "../../../src/opi/kube/launcher.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

afterAll(cleanupTempDirs);

test("the instance index comes from the pod ordinal (POD_NAME, else the hostname)", () => {
  expect(instanceIndex("myapp-dev-0a1b2c3d4e-12")).toBe("12");
  expect(instanceIndex("web-007")).toBe("7");
  expect(instanceIndex("job-abcde")).toBeUndefined();
  expect(launchPlan(["x"], { POD_NAME: "a-3" }, { hostname: "a-9" }).env.CF_INSTANCE_INDEX).toBe("3");
  expect(launchPlan(["x"], {}, { hostname: "a-9" }).env.CF_INSTANCE_INDEX).toBe("9");
  expect(launchPlan(["x"], { POD_NAME: "a-3", CF_INSTANCE_INDEX: "0" }, { noIndex: true }).env.CF_INSTANCE_INDEX).toBe("0");
  expect(() => launchPlan([], {}, {})).toThrow(/no start command/);
});

test("eirini launch sources profile.d and runs the start command with the index and exit status", async () => {
  const home = tempDir();
  mkdirSync(join(home, "profile.d"));
  mkdirSync(join(home, "app", ".profile.d"), { recursive: true });
  writeFileSync(join(home, "profile.d", "a.sh"), "export FROM_DEPS=deps\n");
  writeFileSync(join(home, "app", ".profile.d", "b.sh"), "export FROM_APP=app\n");
  const out = join(home, "out");
  const plan = launchPlan([`echo "$CF_INSTANCE_INDEX $FROM_DEPS $FROM_APP $(pwd)" > ${out}; exit 4`], { POD_NAME: "web-2", EIRINI_HOME_DIR: home, EIRINI_APP_DIR: join(home, "app"), PATH: process.env.PATH }, {});
  expect(await runLaunch(plan)).toBe(4);
  expect((await Bun.file(out).text()).trim()).toBe(`2 deps app ${join(home, "app")}`);
  const direct = launchPlan(["/bin/sh", "-c", "exit 0"], {}, { noProfile: true });
  expect(direct.argv).toEqual(["/bin/sh", "-c", "exit 0"]);
  expect(await runLaunch(direct)).toBe(0);
});
