import { afterAll } from "bun:test";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { runOpiContract } from "../contract.ts";
import { IMAGES, kubeSetup } from "./harness.ts";

afterAll(cleanupTempDirs);

// The Kubernetes backend against the API server emulator, through the real client-node.
runOpiContract("kube backend (emulated API server)", async () => {
  const s = await kubeSetup();
  return {
    backend: s.backend,
    reachable: false,
    lrpFixture: async (kind) => ({ lifecycle: { docker_lifecycle: { image: kind === "crash" ? IMAGES.crash : IMAGES.http, command: ["/app/server"] } } }),
    taskFixture: async (kind) => ({
      command: kind === "succeed" ? "exit 0" : kind === "fail" ? "exit 3" : "sleep 3600",
      lifecycle: { docker_lifecycle: { image: IMAGES.task } },
    }),
    timeoutMs: 8000,
    close: () => s.close(),
  };
}, { httpUnproven: "the emulator's simulated pods have no network here; a pod run by containerd+runc answering on its pod IP and through the router is test/opi/kube/real-runtime.test.ts" });
