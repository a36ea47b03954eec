import { vcapApplicationOfLRP, vcapApplicationOfTask, type LRP, type Task } from "../../model/index.ts";

/**
 * The CF environment (DESIGN.md 4) as a container env list. What only the
 * pod knows comes from the downward API (pod IP, pod uid, pod name);
 * `CF_INSTANCE_INDEX` is set by the launcher from the pod name's ordinal.
 * Dependent values use Kubernetes `$(VAR)` expansion, so they come after.
 */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { apiVersion: "v1"; fieldPath: string } };
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export class EnvError extends Error {
  override name = "EnvError";
}

const field = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } } });

function appEnv(env: Record<string, string>, reserved: Set<string>): EnvVar[] {
  return Object.keys(env)
    .filter((k) => !reserved.has(k))
    .sort()
    .map((name) => {
      if (!ENV_NAME.test(name)) throw new EnvError(`environment variable name ${JSON.stringify(name)} is not valid on Kubernetes (letters, digits, '_', '-', '.'; not starting with a digit)`);
      return { name, value: env[name]! };
    });
}

export function lrpEnv(lrp: LRP, cfApi: string): EnvVar[] {
  const port = lrp.ports[0] ?? 8080;
  const vcap = vcapApplicationOfLRP(lrp, cfApi);
  const platform: EnvVar[] = [
    field("POD_NAME", "metadata.name"),
    field("CF_INSTANCE_GUID", "metadata.uid"),
    field("CF_INSTANCE_IP", "status.podIP"),
    field("CF_INSTANCE_INTERNAL_IP", "status.podIP"),
    { name: "VCAP_APPLICATION", value: JSON.stringify(vcap) },
    { name: "MEMORY_LIMIT", value: `${lrp.memory_mb}m` },
    { name: "PORT", value: String(port) },
    { name: "CF_INSTANCE_PORT", value: String(port) },
    { name: "CF_INSTANCE_ADDR", value: `$(CF_INSTANCE_IP):${port}` },
    { name: "CF_INSTANCE_PORTS", value: JSON.stringify(lrp.ports.map((p) => ({ external: p, internal: p }))) },
    { name: "HOME", value: "/home/vcap/app" },
    { name: "TMPDIR", value: "/home/vcap/tmp" },
    { name: "USER", value: "vcap" },
    { name: "LANG", value: "en_US.UTF-8" },
  ];
  const reserved = new Set(platform.map((e) => e.name).concat("CF_INSTANCE_INDEX"));
  const app = appEnv({ VCAP_SERVICES: "{}", ...lrp.environment }, reserved);
  return [...platform.slice(0, 4), ...app, ...platform.slice(4)];
}

export function taskEnv(task: Task, cfApi: string): EnvVar[] {
  const vcap = vcapApplicationOfTask(task, cfApi);
  const platform: EnvVar[] = [
    field("POD_NAME", "metadata.name"),
    field("CF_INSTANCE_GUID", "metadata.uid"),
    field("CF_INSTANCE_IP", "status.podIP"),
    field("CF_INSTANCE_INTERNAL_IP", "status.podIP"),
    { name: "VCAP_APPLICATION", value: JSON.stringify(vcap) },
    { name: "MEMORY_LIMIT", value: `${task.memory_mb}m` },
    { name: "CF_INSTANCE_INDEX", value: "0" },
    { name: "HOME", value: "/home/vcap/app" },
    { name: "TMPDIR", value: "/home/vcap/tmp" },
    { name: "USER", value: "vcap" },
    { name: "LANG", value: "en_US.UTF-8" },
  ];
  const reserved = new Set(platform.map((e) => e.name));
  return [...platform.slice(0, 4), ...appEnv({ VCAP_SERVICES: "{}", ...task.environment }, reserved), ...platform.slice(4)];
}
