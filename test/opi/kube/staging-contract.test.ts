import { afterAll } from "bun:test";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { runExecutorContract } from "../../st8ge/executor-contract.ts";
import { stagingSetup } from "./staging-harness.ts";

// The Kubernetes Job executor passes the same contract as the local one: the
// emulator's kubelet runs each staging pod's command here, with its limits.
const s = await stagingSetup();
afterAll(async () => {
  await s.close();
  cleanupTempDirs();
});

runExecutorContract("kube (Job on the emulated API server)", () => s.make());
