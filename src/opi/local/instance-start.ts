import { recordBlocked, recordCrash, onInstanceExit } from "./crashes.ts";
import { cellLog } from "./cell-log.ts";
import { instanceEnv } from "./environment.ts";
import { StartError, type ProcessHandle } from "./executor.ts";
import { probeUntilHealthy } from "./health-checks.ts";
import type { Runtime } from "./runtime.ts";
import type { ProcessRow } from "./state.ts";
import { primaryPort, setSlotState, type Desired, type Slot } from "./slot.ts";

/** Starts a process for a slot just placed on a cell; it is CLAIMED until its health check passes. */
export function startSlot(rt: Runtime, d: Desired, slot: Slot): void {
  const gen = ++slot.gen;
  slot.instanceGuid = crypto.randomUUID();
  slot.killReason = undefined;
  slot.restartAt = null;
  setSlotState(rt, d, slot, "CLAIMED");
  cellLog(rt, d, slot, `Cell ${slot.cell} creating container for instance ${slot.instanceGuid}`);
  const lrp = d.lrp;
  const run = async () => {
    const ports = new Map<number, number>();
    for (const p of lrp.ports) ports.set(p, await rt.executor.freePort(p));
    slot.ports = ports;
    const life = "buildpack_lifecycle" in lrp.lifecycle ? lrp.lifecycle.buildpack_lifecycle : undefined;
    const docker = "docker_lifecycle" in lrp.lifecycle ? lrp.lifecycle.docker_lifecycle : undefined;
    const handle = await rt.executor.start({
      kind: "instance",
      guid: slot.instanceGuid,
      dropletHash: life?.droplet_hash,
      command: life?.start_command ?? "",
      ...(docker ? { image: { ref: docker.image, command: docker.command, username: docker.registry_username, password: docker.registry_password } } : {}),
      env: instanceEnv({ lrp, index: slot.index, instanceGuid: slot.instanceGuid, ports, cfApi: rt.cfApi() }),
      memoryMb: lrp.memory_mb,
      diskMb: lrp.disk_mb,
      log: { sourceId: lrp.app_guid, sourceType: `APP/PROC/${lrp.process_type.toUpperCase()}`, instanceId: String(slot.index) },
    });
    if (gen !== slot.gen) {
      // Stopped while starting: the stopper is waiting on us to end it.
      await rt.executor.stop(handle, 0);
      await rt.executor.cleanup(handle.record.guid).catch(() => {});
      return;
    }
    slot.handle = handle;
    // A docker image listens on its EXPOSEd port: route and health-check that one.
    if (handle.record.appPort) slot.ports = new Map([[primaryPort(lrp), handle.record.appPort]]);
    cellLog(rt, d, slot, `Cell ${slot.cell} successfully created container for instance ${slot.instanceGuid}`);
    cellLog(rt, d, slot, "Starting health monitoring of container");
    rt.state.saveProcess({
      record: handle.record,
      owner: lrp.process_guid,
      index: slot.index,
      ports: [...ports],
      cell: slot.cell,
      crashCount: slot.crashCount,
      startedAt: rt.clock.now(),
    });
    watch(rt, d, slot, gen, handle, rt.clock.now() + lrp.start_timeout_ms);
  };
  slot.starting = run().catch((err: unknown) => {
    if (gen !== slot.gen) return;
    slot.cell = "";
    if (err instanceof StartError) return recordBlocked(rt, d, slot, err.message);
    rt.log.error("instance failed to start", { process_guid: lrp.process_guid, index: slot.index, error: err });
    const reason = `failed to start: ${(err as Error).message}`;
    recordCrash(rt, d, slot, -1, reason, reason);
  });
}

/**
 * Takes over a process that outlived the previous backend. It is CLAIMED
 * again, so it only counts as RUNNING once its health check passes here.
 */
export function adoptSlot(rt: Runtime, d: Desired, slot: Slot, row: ProcessRow): void {
  const handle = rt.executor.adopt(row.record, d.lrp.memory_mb, d.lrp.disk_mb);
  slot.instanceGuid = row.record.guid;
  slot.ports = new Map(row.ports);
  // Cells are config: one may be gone after a restart, and the process still needs a home.
  slot.cell = rt.cells.some((c) => c.id === row.cell) ? row.cell : (rt.cells[0]?.id ?? "");
  slot.crashCount = row.crashCount;
  slot.handle = handle;
  const gen = ++slot.gen;
  setSlotState(rt, d, slot, "CLAIMED");
  watch(rt, d, slot, gen, handle, rt.clock.now() + d.lrp.start_timeout_ms);
}

function watch(rt: Runtime, d: Desired, slot: Slot, gen: number, handle: ProcessHandle, deadline: number): void {
  handle.exited.then((exit) => onInstanceExit(rt, d, slot, gen, exit));
  probeUntilHealthy(rt, d, slot, gen, deadline);
}
