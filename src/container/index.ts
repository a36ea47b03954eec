/**
 * Containers for the appliance: runc directly (as Garden runs it for Diego),
 * overlayfs root filesystems, cgroup limits, a bridge with a veth per
 * container (Debian's CNI plugins), and the checks that say whether this
 * machine can run them. Used by the local OPI backend (app instances, tasks)
 * and by staging; depends on nothing above config/log.
 *
 * Contract:
 * - `ContainerHost` creates (`runc run -d`), signals, inspects and destroys
 *   containers whose state lives under one directory; containers outlive the
 *   appliance and are found again there.
 * - `containerSupport()` says whether containers can run here and what to
 *   install when not.
 * - `unpackStackLayers` turns an imported stack's layers into a rootfs.
 */
export { ContainerHost, VCAP_GID, VCAP_UID, startTicksOf, type ContainerHostOptions, type ContainerInfo, type ContainerRequest } from "./host.ts";
export { BridgeNetwork, bridgeNameFor } from "./network.ts";
export { cgroupUsage, cgroupsUsable, type CgroupUsage } from "./cgroup.ts";
export { cpuSharesForMemory, CF_DEFAULT_CAPS } from "./spec.ts";
export { containerSupport, type SupportCheck, type ContainerSupport } from "./support.ts";
export { unpackStackLayers } from "./stack-rootfs.ts";
export { diskUsageBytes } from "./disk.ts";
export { run as runCommand } from "./exec.ts";
export { pullImage, resolveImageUser, dockerReference, ImageError, type ImageConfig, type PulledImage } from "./image.ts";
