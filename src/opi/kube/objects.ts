import type { LRP, Task } from "../../model/index.ts";
import { cpuWeight } from "../../model/index.ts";
import { lrpEnv, taskEnv, type EnvVar } from "./env.ts";
import { ANNOTATION, APP_CONTAINER, LABEL, MANAGED_BY, SOURCE } from "./keys.ts";
import { labelValue, routeServiceName, sanitize, statefulSetName, taskJobName } from "./names.ts";
import { schedulingFor } from "./scheduling.ts";
import { APP_INIT, DOCKER_INIT, TASK_INIT } from "./shell-init.ts";
import { routeKey } from "../route-key.ts";

/**
 * Pure builders: desired LRP / task -> the Kubernetes objects that run it
 * (DESIGN.md 6). Deterministic (same input, same object), so reading an
 * object back and rebuilding it from its own annotations tells whether
 * someone changed it by hand.
 */
export type Obj = Record<string, any>;

export interface BuildOptions {
  namespace: string;
  cfApi: string;
  /** host[:port] that kubelets pull droplet images from. */
  registryAddress: string;
  /** Image pull secret for the registry (absent: none). */
  pullSecret?: string;
  /** An image holding the `eirini` binary at /eirini; absent: a shell launcher sets CF_INSTANCE_INDEX. */
  launcherImage?: string;
  ingressClass?: string;
}

/** What the StatefulSet carries besides the template: mutable without rolling pods. */
export interface DesiredLRP {
  /** The LRP the pod template is built from. */
  template: LRP;
  instances: number;
  routes: LRP["routes"];
  lastUpdated: string;
}

export function desiredFromLRP(lrp: LRP): DesiredLRP {
  return { template: lrp, instances: lrp.instances, routes: lrp.routes, lastUpdated: lrp.last_updated };
}

export function lrpOf(d: DesiredLRP): LRP {
  return { ...d.template, instances: d.instances, routes: d.routes, last_updated: d.lastUpdated };
}

const LAUNCHER_DIR = "/eirini-launcher";

export function dropletImage(o: BuildOptions, dropletGuid: string, dropletHash: string): string {
  return `${o.registryAddress}/cloudfoundry/${sanitize(dropletGuid, 100) || "droplet"}:${dropletHash}`;
}

function quantities(memoryMb: number, diskMb: number, weight: number): Obj {
  return {
    requests: { memory: `${memoryMb}Mi`, cpu: `${Math.max(10, weight * 10)}m`, "ephemeral-storage": `${diskMb}Mi` },
    limits: { memory: `${memoryMb}Mi`, "ephemeral-storage": `${diskMb}Mi` },
  };
}

const containerSecurity = { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, capabilities: { drop: ["ALL"] } };

function probes(lrp: LRP): Obj {
  const port = lrp.ports[0] ?? 8080;
  const action = lrp.health_check_type === "http" ? { httpGet: { path: lrp.health_check_http_endpoint || "/", port, scheme: "HTTP" } } : lrp.health_check_type === "port" ? { tcpSocket: { port } } : undefined;
  if (!action) return {};
  const timeoutSeconds = Math.max(1, Math.ceil(lrp.health_check_timeout_ms / 1000));
  return {
    livenessProbe: { ...action, initialDelaySeconds: Math.ceil(lrp.start_timeout_ms / 1000), timeoutSeconds, periodSeconds: 10, successThreshold: 1, failureThreshold: 4 },
    readinessProbe: { ...action, initialDelaySeconds: 0, timeoutSeconds, periodSeconds: 10, successThreshold: 1, failureThreshold: 1 },
  };
}

/** Command for the app container plus what the launcher needs (init container, volume). */
function launch(o: BuildOptions, lrp: LRP | Task, image: string): { container: Obj; init?: Obj; volume?: Obj } {
  const bp = lrp.lifecycle && "buildpack_lifecycle" in lrp.lifecycle ? lrp.lifecycle.buildpack_lifecycle : undefined;
  const docker = lrp.lifecycle && "docker_lifecycle" in lrp.lifecycle ? lrp.lifecycle.docker_lifecycle : undefined;
  const isTask = "command" in lrp && typeof lrp.command === "string";
  const start = isTask ? (lrp as Task).command : (bp as { start_command?: string } | undefined)?.start_command ?? "";
  const dockerCommand: string[] = isTask ? [] : ((docker as { command?: string[] } | undefined)?.command ?? []);
  if (o.launcherImage) {
    const binary = `${LAUNCHER_DIR}/eirini`;
    const argv = docker && !isTask ? (dockerCommand.length > 0 ? [binary, "launch", "--no-profile", "--", ...dockerCommand] : undefined) : [binary, "launch", ...(isTask ? ["--no-index"] : []), "--", start];
    return {
      container: { image, ...(argv ? { command: argv } : {}) },
      init: {
        name: "eirini-launcher",
        image: o.launcherImage,
        command: ["/eirini", "launch", "--install", binary],
        volumeMounts: [{ name: "eirini-launcher", mountPath: LAUNCHER_DIR }],
        resources: { requests: { memory: "64Mi", cpu: "10m" }, limits: { memory: "64Mi" } },
        securityContext: containerSecurity,
      },
      volume: { name: "eirini-launcher", emptyDir: {} },
    };
  }
  // Without a launcher image, a shell init is PID 1 and forwards SIGTERM (shell-init.ts says why).
  if (docker && !isTask) return { container: { image, ...(dockerCommand.length > 0 ? { command: ["/bin/sh", "-c", DOCKER_INIT, "launcher", ...dockerCommand] } : {}) } };
  return { container: { image, command: ["/bin/sh", "-c", isTask ? TASK_INIT : APP_INIT, "launcher", ...(start ? [start] : [])] } };
}

function imageOf(o: BuildOptions, lrp: LRP | Task): string {
  const life = lrp.lifecycle;
  if (life && "docker_lifecycle" in life) return life.docker_lifecycle.image;
  if (life && "buildpack_lifecycle" in life) return dropletImage(o, life.buildpack_lifecycle.droplet_guid, life.buildpack_lifecycle.droplet_hash);
  throw new Error("no lifecycle");
}

export function selectorLabels(lrp: Pick<LRP, "guid" | "version">): Record<string, string> {
  return { [LABEL.guid]: labelValue(lrp.guid), [LABEL.version]: labelValue(lrp.version) };
}

export function lrpLabels(lrp: LRP): Record<string, string> {
  return {
    ...selectorLabels(lrp),
    [LABEL.appGuid]: labelValue(lrp.app_guid),
    [LABEL.processType]: labelValue(lrp.process_type),
    [LABEL.sourceType]: SOURCE.app,
    [LABEL.managedBy]: MANAGED_BY,
  };
}

export function stsName(lrp: Pick<LRP, "app_name" | "space_name" | "process_guid">): string {
  return statefulSetName(lrp.app_name, lrp.space_name, lrp.process_guid);
}

export function lrpAnnotations(d: DesiredLRP): Record<string, string> {
  const t = d.template;
  return {
    [ANNOTATION.processGuid]: t.process_guid,
    [ANNOTATION.appName]: t.app_name,
    [ANNOTATION.spaceName]: t.space_name,
    [ANNOTATION.orgName]: t.organization_name,
    [ANNOTATION.routes]: JSON.stringify(d.routes),
    [ANNOTATION.lastUpdated]: d.lastUpdated,
    [ANNOTATION.lrp]: JSON.stringify(t),
  };
}

export function buildStatefulSet(o: BuildOptions, d: DesiredLRP): Obj {
  const lrp = d.template;
  const image = imageOf(o, lrp);
  const l = launch(o, lrp, image);
  const sched = schedulingFor({ guid: lrp.guid, version: lrp.version, annotations: lrp.user_defined_annotations, placementTags: lrp.placement_tags });
  const labels = lrpLabels(lrp);
  const env: EnvVar[] = lrpEnv(lrp, o.cfApi);
  const usesRegistry = "buildpack_lifecycle" in lrp.lifecycle;
  const container: Obj = {
    name: APP_CONTAINER,
    ...l.container,
    env,
    ports: lrp.ports.map((p) => ({ containerPort: p, protocol: "TCP" })),
    resources: quantities(lrp.memory_mb, lrp.disk_mb, lrp.cpu_weight ?? cpuWeight(lrp.memory_mb)),
    securityContext: containerSecurity,
    ...probes(lrp),
    ...(l.volume ? { volumeMounts: [{ name: "eirini-launcher", mountPath: LAUNCHER_DIR, readOnly: true }] } : {}),
  };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: stsName(lrp), namespace: o.namespace, labels, annotations: lrpAnnotations(d) },
    spec: {
      replicas: d.instances,
      podManagementPolicy: "Parallel",
      serviceName: "",
      selector: { matchLabels: selectorLabels(lrp) },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 2,
      template: {
        metadata: {
          labels,
          annotations: { [ANNOTATION.processGuid]: lrp.process_guid, [ANNOTATION.appName]: lrp.app_name, [ANNOTATION.spaceName]: lrp.space_name },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          restartPolicy: "Always",
          securityContext: { runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000 },
          ...(sched.nodeSelector ? { nodeSelector: sched.nodeSelector } : {}),
          ...(Object.keys(sched.affinity).length > 0 ? { affinity: sched.affinity } : {}),
          ...(sched.tolerations ? { tolerations: sched.tolerations } : {}),
          ...(sched.schedulerName ? { schedulerName: sched.schedulerName } : {}),
          ...(usesRegistry && o.pullSecret ? { imagePullSecrets: [{ name: o.pullSecret }] } : {}),
          ...(l.init ? { initContainers: [l.init], volumes: [l.volume] } : {}),
          containers: [container],
        },
      },
    },
  };
}

function ownerRef(owner: Obj): Obj[] {
  return [{ apiVersion: "apps/v1", kind: "StatefulSet", name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }];
}

/** Keeps at least half the instances up through voluntary disruptions (node drains). */
export function buildPDB(o: BuildOptions, lrp: LRP, owner?: Obj): Obj {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: stsName(lrp),
      namespace: o.namespace,
      labels: lrpLabels(lrp),
      annotations: { [ANNOTATION.processGuid]: lrp.process_guid },
      ...(owner ? { ownerReferences: ownerRef(owner) } : {}),
    },
    spec: { minAvailable: "50%", selector: { matchLabels: selectorLabels(lrp) } },
  };
}

export interface RouteRef {
  hostname: string;
  port: number;
}

export function routesOf(routes: LRP["routes"]): RouteRef[] {
  const seen = new Map<string, RouteRef>();
  for (const r of Object.values(routes).flat()) seen.set(`${r.hostname.toLowerCase()}|${r.port}`, { hostname: r.hostname.toLowerCase(), port: r.port });
  return [...seen.values()];
}

export function buildRouteService(o: BuildOptions, lrp: LRP, route: RouteRef, owner?: Obj): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: routeServiceName(route.hostname, route.port, lrp.process_guid),
      namespace: o.namespace,
      labels: lrpLabels(lrp),
      annotations: { [ANNOTATION.processGuid]: lrp.process_guid, [ANNOTATION.routeHost]: route.hostname, [ANNOTATION.routePort]: String(route.port) },
      ...(owner ? { ownerReferences: ownerRef(owner) } : {}),
    },
    spec: { type: "ClusterIP", selector: selectorLabels(lrp), ports: [{ name: "http", port: route.port, targetPort: route.port, protocol: "TCP" }] },
  };
}

export function buildRouteIngress(o: BuildOptions, lrp: LRP, route: RouteRef, owner?: Obj): Obj {
  const name = routeServiceName(route.hostname, route.port, lrp.process_guid);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      namespace: o.namespace,
      labels: lrpLabels(lrp),
      annotations: { [ANNOTATION.processGuid]: lrp.process_guid, [ANNOTATION.routeHost]: route.hostname, [ANNOTATION.routePort]: String(route.port) },
      ...(owner ? { ownerReferences: ownerRef(owner) } : {}),
    },
    spec: {
      ...(o.ingressClass ? { ingressClassName: o.ingressClass } : {}),
      // A route with a path ("host/path") is a Prefix path on its host.
      rules: [{ host: routeKey(route.hostname).host, http: { paths: [{ path: routeKey(route.hostname).path || "/", pathType: "Prefix", backend: { service: { name, port: { number: route.port } } } }] } }],
    },
  };
}

export function buildTaskJob(o: BuildOptions, task: Task, ttlSeconds: number): Obj {
  const image = imageOf(o, task);
  const l = launch(o, task, image);
  const labels = {
    [LABEL.appGuid]: labelValue(task.app_guid),
    [LABEL.taskGuid]: labelValue(task.guid),
    [LABEL.sourceType]: SOURCE.task,
    [LABEL.managedBy]: MANAGED_BY,
  };
  const annotations = { [ANNOTATION.taskGuid]: task.guid, [ANNOTATION.taskName]: task.name, [ANNOTATION.appName]: task.app_name, [ANNOTATION.appGuid]: task.app_guid, [ANNOTATION.spaceName]: task.space_name };
  const usesRegistry = task.lifecycle !== undefined && "buildpack_lifecycle" in task.lifecycle;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: taskJobName(task.app_name, task.name, task.guid), namespace: o.namespace, labels, annotations },
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ttlSecondsAfterFinished: ttlSeconds,
      template: {
        metadata: { labels, annotations },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000 },
          ...(usesRegistry && o.pullSecret ? { imagePullSecrets: [{ name: o.pullSecret }] } : {}),
          ...(l.init ? { initContainers: [l.init], volumes: [l.volume] } : {}),
          containers: [
            {
              name: APP_CONTAINER,
              ...l.container,
              env: taskEnv(task, o.cfApi),
              resources: quantities(task.memory_mb, task.disk_mb, task.cpu_weight ?? cpuWeight(task.memory_mb)),
              securityContext: containerSecurity,
              ...(l.volume ? { volumeMounts: [{ name: "eirini-launcher", mountPath: LAUNCHER_DIR, readOnly: true }] } : {}),
            },
          ],
        },
      },
    },
  };
}
