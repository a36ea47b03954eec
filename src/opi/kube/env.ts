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

/** What only the pod knows, from the downward API; first, so later values may expand them. */
const podIdentity: EnvVar[] = [
  field("POD_NAME", "metadata.name"),
  field("CF_INSTANCE_GUID", "metadata.uid"),
  field("CF_INSTANCE_IP", "status.podIP"),
  field("CF_INSTANCE_INTERNAL_IP", "status.podIP"),
];

/** The container's fixed CF layout (vcap user under /home/vcap). */
const containerBasics: EnvVar[] = [
  { name: "HOME", value: "/home/vcap/app" },
  { name: "TMPDIR", value: "/home/vcap/tmp" },
  { name: "USER", value: "vcap" },
  { name: "LANG", value: "en_US.UTF-8" },
];

/** Pod identity, then the app's own variables (platform names win), then the platform's values. */
function withAppEnv(platform: EnvVar[], own: Record<string, string>, alsoReserved: string[] = []): EnvVar[] {
  const all = [...podIdentity, ...platform, ...containerBasics];
  const reserved = new Set(all.map((e) => e.name).concat(alsoReserved));
  return [...podIdentity, ...appEnv({ VCAP_SERVICES: "{}", ...own }, reserved), ...platform, ...containerBasics];
}

export function lrpEnv(lrp: LRP, cfApi: string): EnvVar[] {
  const port = lrp.ports[0] ?? 8080;
  const platform: EnvVar[] = [
    { name: "VCAP_APPLICATION", value: JSON.stringify(vcapApplicationOfLRP(lrp, cfApi)) },
    { name: "MEMORY_LIMIT", value: `${lrp.memory_mb}m` },
    { name: "PORT", value: String(port) },
    { name: "CF_INSTANCE_PORT", value: String(port) },
    { name: "CF_INSTANCE_ADDR", value: `$(CF_INSTANCE_IP):${port}` },
    { name: "CF_INSTANCE_PORTS", value: JSON.stringify(lrp.ports.map((p) => ({ external: p, internal: p }))) },
  ];
  // The launcher sets CF_INSTANCE_INDEX from the pod ordinal; the app may not override it.
  return withAppEnv(platform, lrp.environment, ["CF_INSTANCE_INDEX"]);
}

export function taskEnv(task: Task, cfApi: string): EnvVar[] {
  return withAppEnv(
    [
      { name: "VCAP_APPLICATION", value: JSON.stringify(vcapApplicationOfTask(task, cfApi)) },
      { name: "MEMORY_LIMIT", value: `${task.memory_mb}m` },
      { name: "CF_INSTANCE_INDEX", value: "0" },
    ],
    task.environment,
  );
}
