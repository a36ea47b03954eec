/**
 * A network namespace made by a test, joined to this host by a veth pair on
 * a private /30: what a pod's network looks like from the node. Inside it,
 * 127.0.0.1 is the namespace's own loopback (nothing listens there); the
 * host's end of the veth (`hostIp`) is reachable. Removed with `remove()`.
 *
 * Returns `{ skip }` with one line where it cannot be made (not root, no
 * iproute2, no permission to create namespaces).
 */
export interface Netns {
  name: string;
  hostIp: string;
  podIp: string;
  remove(): void;
}

function ip(args: string[]): { ok: boolean; err: string } {
  const r = Bun.spawnSync(["ip", ...args], { stdout: "ignore", stderr: "pipe" });
  return { ok: r.exitCode === 0, err: new TextDecoder().decode(r.stderr).trim() };
}

export function createNetns(): Netns | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: "network namespaces need root" };
  if (!Bun.which("ip")) return { skip: "ip (iproute2) is not installed" };
  const id = crypto.randomUUID().slice(0, 6);
  const name = `eirini-t-${id}`;
  // 10.213.X.Y/30 from the random id: the host end .1, the namespace end .2 of its block.
  const n = Number.parseInt(id, 16);
  const third = (n >> 6) % 250;
  const base = (n % 63) * 4;
  const hostIp = `10.213.${third}.${base + 1}`;
  const podIp = `10.213.${third}.${base + 2}`;
  const host = `vh${id}`;
  const peer = `vp${id}`;
  const steps: string[][] = [
    ["netns", "add", name],
    ["link", "add", host, "type", "veth", "peer", "name", peer],
    ["link", "set", peer, "netns", name],
    ["addr", "add", `${hostIp}/30`, "dev", host],
    ["link", "set", host, "up"],
    ["-n", name, "addr", "add", `${podIp}/30`, "dev", peer],
    ["-n", name, "link", "set", peer, "up"],
    ["-n", name, "link", "set", "lo", "up"],
    // Everything else through the host: other test namespaces' host-side addresses are this host's.
    ["-n", name, "route", "add", "default", "via", hostIp],
  ];
  const remove = () => {
    ip(["link", "del", host]);
    ip(["netns", "del", name]);
  };
  for (const s of steps) {
    const r = ip(s);
    if (!r.ok) {
      remove();
      return { skip: `cannot make a network namespace here: ip ${s.join(" ")}: ${r.err}` };
    }
  }
  return { name, hostIp, podIp, remove };
}
