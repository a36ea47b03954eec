/**
 * Kubernetes OPI backend contract (DESIGN.md 6): `createKubeBackend(opts)`
 * returns an `OpiBackend` that runs LRPs as StatefulSets (Parallel pods,
 * ordinal = CF instance index, PDB when instances > 1, one Service per
 * route, optional Ingress), tasks as Jobs, and reads actual state from
 * shared, supervised informers. It passes `test/opi/contract.ts` against
 * the API server emulator in `test/support/kube`.
 *
 * Staging: `createKubeStagingExecutor` is St8ge's `StagingExecutor` as one
 * Job per staging (passes test/st8ge/executor-contract.ts against the
 * emulator); its pods talk to `StagingTransfers` routes under
 * `/kube-staging/<guid>/` with staging-scoped tokens.
 *
 * Kubernetes access goes through `@kubernetes/client-node`, loaded with a
 * dynamic import inside `createKubeClient`, so importing this entry costs
 * the local backend nothing.
 *
 * Scheduling annotations (app or space metadata, parsed by the OPI
 * scheduling hints in `src/opi/scheduling-hints.ts`, mapped in
 * `scheduling.ts`): `scheduling.eirini.cloudfoundry.org/{node-selector,
 * node-affinity, preferred-node-affinity, tolerations, affinity,
 * scheduler-name, placement-tags}`; CF placement tags map to
 * `placement.cloudfoundry.org/<tag>=true`.
 */
import type { Logger } from "../../log/index.ts";
import { KubeBackend, type KubeBackendOptions } from "./backend.ts";
import { createKubeClient, type ClientOptions } from "./client.ts";
import type { BuildOptions } from "./objects.ts";

export { KubeBackend, INSTANCES_ANNOTATION, type KubeBackendOptions } from "./backend.ts";
export { createKubeClient, loadKubeConfig, type KubeClient, type ClientOptions, type Kind } from "./client.ts";
export { KubeApiError, KubeUnavailableError } from "./errors.ts";
export { Informer, defaultBackoff } from "./informer.ts";
export { SCHEDULING_KEYS, PLACEMENT_LABEL_PREFIX, SchedulingError, schedulingFor } from "./scheduling.ts";
export { statefulSetName, routeServiceName, taskJobName, stagingJobName, sanitize, labelValue, podOrdinal, MAX_STATEFULSET_NAME } from "./names.ts";
export { buildStatefulSet, buildPDB, buildRouteService, buildTaskJob, dropletImage, desiredFromLRP, stsName, type BuildOptions, type DesiredLRP } from "./objects.ts";
export { LABEL, ANNOTATION, SOURCE } from "./keys.ts";
export { createKubeBackendPart, KubeConfigError, type KubeBackendPart, type KubeRegistryPort } from "./part.ts";
export { ensurePullSecret, dockerConfigJson } from "./pull-secret.ts";
export { startServiceProxy } from "./service-proxy.ts";
export { createKubeStagingExecutor, type KubeStagingExecutor, type KubeStagingExecutorOptions } from "./staging-executor.ts";
export { StagingTransfers, TRANSFER_PREFIX, type TransferSession } from "./staging-transfers.ts";
export { buildStagingJob, STAGING_SELECTOR, type StagingJobSpec } from "./staging-job.ts";
export { stagingPodVerdict, type PodVerdict } from "./staging-pod-state.ts";

export interface CreateKubeBackendOptions extends Omit<KubeBackendOptions, "client" | "build" | "logger"> {
  logger: Logger;
  client: ClientOptions;
  build: Omit<BuildOptions, "namespace">;
}

/** Loads the kubeconfig (or in-cluster config) and builds the backend; call `start()` next. */
export async function createKubeBackend(o: CreateKubeBackendOptions): Promise<KubeBackend> {
  const client = await createKubeClient(o.client);
  return new KubeBackend({ ...o, client, build: { ...o.build, namespace: o.client.namespace } });
}
