import { afterAll } from "bun:test";
import { FakeExecutor } from "../../../src/opi/local/index.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { runOpiContract } from "../contract.ts";
import { localSetup } from "./harness.ts";

afterAll(cleanupTempDirs);

// Real processes: a Bun HTTP app in a droplet from the blob store.
runOpiContract("local backend (processes)", async () => {
  const s = await localSetup();
  const bp = (start_command = "") => ({ buildpack_lifecycle: { droplet_guid: "d1", droplet_hash: s.httpHash, start_command } });
  return {
    backend: s.backend,
    reachable: true,
    lrpFixture: async (kind) => ({ lifecycle: bp(kind === "crash" ? "exit 3" : "") }),
    taskFixture: async (kind) => ({
      command: kind === "succeed" ? "test -f server.js" : kind === "fail" ? "exit 3" : "sleep 30",
      lifecycle: { buildpack_lifecycle: { droplet_guid: "d1", droplet_hash: s.httpHash } },
    }),
    close: () => s.close(),
  };
});

// The in-memory executor that Cloud Controller benchmarks use: same contract.
runOpiContract("local backend (fake executor)", async () => {
  const fake = new FakeExecutor();
  fake.behaviour = (command) => (command === "crash" ? { exitCode: 3 } : command === "fail" ? { exitCode: 3 } : command === "succeed" ? { exitCode: 0 } : {});
  const s = await localSetup({ backend: { executor: fake } });
  return {
    backend: s.backend,
    reachable: false,
    lrpFixture: async (kind) => ({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d1", droplet_hash: s.httpHash, start_command: kind === "crash" ? "crash" : "serve" } } }),
    taskFixture: async (kind) => ({ command: kind }),
    close: () => s.close(),
  };
}, { httpUnproven: "the fake executor runs no processes, so its targets have nothing listening (the processes and containers runs prove it)" });
