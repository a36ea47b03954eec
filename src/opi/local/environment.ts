import { vcapApplicationOfLRP, vcapApplicationOfTask, type LRP, type Task } from "../../model/index.ts";

/**
 * The CF environment of an instance or task (DESIGN.md 4). Paths the
 * executor owns (HOME, TMPDIR, DEPS_DIR) are added by the executor; the
 * app's own variables win over nothing here except PORT/CF_INSTANCE_*,
 * which the platform always sets (as Diego does).
 */
export interface InstanceEnvInput {
  lrp: LRP;
  index: number;
  instanceGuid: string;
  /** container port -> host port; the first LRP port is $PORT. */
  ports: ReadonlyMap<number, number>;
  cfApi: string;
}

export function instanceEnv({ lrp, index, instanceGuid, ports, cfApi }: InstanceEnvInput): Record<string, string> {
  const vcapApplication = { ...vcapApplicationOfLRP(lrp, cfApi), instance_id: instanceGuid, instance_index: index };
  const first = lrp.ports[0] ?? 8080;
  const port = ports.get(first) ?? first;
  const mapped = [...ports].map(([internal, external]) => ({ external, internal: external, container_port: internal }));
  return {
    VCAP_SERVICES: "{}",
    ...lrp.environment,
    VCAP_APPLICATION: JSON.stringify(vcapApplication),
    MEMORY_LIMIT: `${lrp.memory_mb}m`,
    PORT: String(port),
    CF_INSTANCE_INDEX: String(index),
    CF_INSTANCE_GUID: instanceGuid,
    CF_INSTANCE_IP: "127.0.0.1",
    CF_INSTANCE_INTERNAL_IP: "127.0.0.1",
    CF_INSTANCE_PORT: String(port),
    CF_INSTANCE_ADDR: `127.0.0.1:${port}`,
    CF_INSTANCE_PORTS: JSON.stringify(mapped.map(({ external, internal }) => ({ external, internal }))),
    USER: "vcap",
    LANG: "en_US.UTF-8",
  };
}

export function taskEnv(task: Task, cfApi: string): Record<string, string> {
  const vcapApplication = vcapApplicationOfTask(task, cfApi);
  return {
    VCAP_SERVICES: "{}",
    ...task.environment,
    VCAP_APPLICATION: JSON.stringify(vcapApplication),
    MEMORY_LIMIT: `${task.memory_mb}m`,
    CF_INSTANCE_IP: "127.0.0.1",
    CF_INSTANCE_INTERNAL_IP: "127.0.0.1",
    USER: "vcap",
    LANG: "en_US.UTF-8",
  };
}
