import { afterAll, test, setDefaultTimeout } from "bun:test";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { runOpiContract } from "../contract.ts";
import { containersUnavailable, containerSetup } from "./container-harness.ts";

// Real containers on a shared 2-core machine: starts can take longer than bun's 5 s default under load.
setDefaultTimeout(30_000);

afterAll(cleanupTempDirs);

const why = await containersUnavailable();
if (why) {
  test.skip(`OPI contract on containers: ${why}`, () => {});
} else {
  // Real runc containers on the stand-in stack: a node HTTP app in a droplet, reached at its container IP.
  runOpiContract("local backend (containers)", async () => {
    const s = await containerSetup();
    const life = (start_command = "") => ({ buildpack_lifecycle: { droplet_guid: "d1", droplet_hash: s.nodeHash, start_command } });
    return {
      backend: s.backend,
      reachable: true,
      timeoutMs: 30_000,
      lrpFixture: async (kind) => ({ lifecycle: life(kind === "crash" ? "exit 3" : "") }),
      taskFixture: async (kind) => ({
        command: kind === "succeed" ? "test -f server.js" : kind === "fail" ? "exit 3" : "sleep 30",
        lifecycle: { buildpack_lifecycle: { droplet_guid: "d1", droplet_hash: s.nodeHash } },
      }),
      close: () => s.close(),
    };
  });
}
