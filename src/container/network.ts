import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, TOOL_PATH } from "./exec.ts";

/**
 * The appliance's container network: one Linux bridge per data directory
 * (named from a hash of it, so parallel appliances never share one), a veth
 * per container made by Debian's CNI `bridge` plugin with `host-local` IPAM
 * (its lease files live in our state dir), and a named network namespace
 * per container (`ip netns`), which outlives the appliance so containers
 * keep their network across a `kill -9`.
 *
 * Isolation, as CF has it: every container port on the bridge is
 * `isolated` (no frames between containers) and FORWARD drops bridge-to-bridge
 * traffic, so apps reach each other only through routes; INPUT drops new
 * connections from containers to the host, so the appliance's listeners are
 * out of reach. Egress to other networks is masqueraded (CF's default
 * "allow public egress").
 */
export interface NetworkConfig {
  /** Where the subnet choice and the IPAM leases are kept. */
  stateDir: string;
  /** Bridge name (<= 15 chars). */
  bridge: string;
  /** Plugins directory (Debian: /usr/lib/cni). */
  cniPath?: string;
  /**
   * Host TCP ports containers may connect to (the appliance's router when it
   * listens beyond loopback, so apps reach each other through routes); read
   * when the rules are first made.
   */
  openPorts?: () => number[];
}

export interface Attachment {
  /** The CNI container id the namespace was attached under (detach with it). */
  id: string;
  ip: string;
  netns: string;
  hostVeth: string;
}

const CNI_PATH = "/usr/lib/cni";
const NETNS_DIR = "/run/netns";

export class BridgeNetwork {
  readonly bridge: string;
  private subnetCache: string | undefined;
  private rulesReady: Promise<void> | undefined;
  private openPorts: number[] | undefined;

  constructor(private readonly cfg: NetworkConfig) {
    this.bridge = cfg.bridge;
    mkdirSync(cfg.stateDir, { recursive: true });
  }

  private get cniPath(): string {
    return this.cfg.cniPath ?? CNI_PATH;
  }

  /** A /22 in 10.200.0.0-10.249.255.255 chosen from the bridge name, skipping any subnet the host already routes; kept once chosen. */
  async subnet(): Promise<string> {
    if (this.subnetCache) return this.subnetCache;
    const file = join(this.cfg.stateDir, "network.json");
    if (existsSync(file)) {
      this.subnetCache = (JSON.parse(readFileSync(file, "utf8")) as { subnet: string }).subnet;
      return this.subnetCache;
    }
    const routes = (await run(["ip", "-4", "route", "show"], { allowFail: true })).stdout;
    const h = Number.parseInt(new Bun.CryptoHasher("sha256").update(this.bridge).digest("hex").slice(0, 8), 16);
    for (let i = 0; i < 3200; i++) {
      const n = (h + i) % 3200;
      const subnet = `10.${200 + Math.floor(n / 64)}.${(n % 64) * 4}.0/22`;
      if (!routes.includes(`10.${200 + Math.floor(n / 64)}.${(n % 64) * 4}.`)) {
        writeFileSync(file, JSON.stringify({ bridge: this.bridge, subnet }));
        this.subnetCache = subnet;
        return subnet;
      }
    }
    throw new Error("no free 10.200-249.x.0/22 subnet for the container bridge");
  }

  private async conf(): Promise<string> {
    return JSON.stringify({
      cniVersion: "1.0.0",
      name: this.bridge,
      type: "bridge",
      bridge: this.bridge,
      isGateway: true,
      // One MASQUERADE rule for the whole subnet (isolationRules) instead of the plugin's chain per container: much faster starts.
      ipMasq: false,
      hairpinMode: false,
      ipam: { type: "host-local", subnet: await this.subnet(), dataDir: join(this.cfg.stateDir, "ipam"), routes: [{ dst: "0.0.0.0/0" }] },
    });
  }

  private cniEnv(command: "ADD" | "DEL", id: string, netns: string): Record<string, string> {
    return { PATH: TOOL_PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: "eth0", CNI_PATH: this.cniPath };
  }

  netnsName(id: string): string {
    return `${this.bridge}-${id}`;
  }

  netnsPath(id: string): string {
    return join(NETNS_DIR, this.netnsName(id));
  }

  private readonly pool: Attachment[] = [];
  private filling = false;

  /**
   * A ready network namespace for a new container: one from a small pool
   * kept warm in the background (the CNI plugins' ~20-100 ms are then off the
   * start path), else a fresh one. Pool namespaces are `<bridge>-p-<random>`;
   * the container records which one it got.
   */
  async take(poolSize = 2): Promise<Attachment> {
    const ready = this.pool.shift();
    this.refill(poolSize);
    return ready ?? this.attach(`p-${crypto.randomUUID().slice(0, 12)}`);
  }

  private refill(poolSize: number): void {
    if (this.filling || this.pool.length >= poolSize) return;
    this.filling = true;
    void (async () => {
      try {
        while (this.pool.length < poolSize) this.pool.push(await this.attach(`p-${crypto.randomUUID().slice(0, 12)}`, true));
      } catch {
        // The next take attaches on its own and says why if it cannot.
      } finally {
        this.filling = false;
      }
    })();
  }

  /** Drops the warm pool (before a teardown or a sweep). */
  async drainPool(): Promise<void> {
    while (this.filling) await Bun.sleep(5);
    for (const a of this.pool.splice(0)) await this.detach(a.id).catch(() => {});
  }

  /** Makes the container's network namespace with lo up and a veth on the bridge; returns its IP. */
  async attach(id: string, background = false): Promise<Attachment> {
    await (this.rulesReady ??= this.isolationRules().catch((err) => {
      this.rulesReady = undefined;
      throw err;
    }));
    const name = this.netnsName(id);
    const netns = this.netnsPath(id);
    if (existsSync(netns)) await this.detach(id);
    await run(["ip", "netns", "add", name], { background });
    try {
      await run(["ip", "-n", name, "link", "set", "lo", "up"], { background });
      const res = await run([join(this.cniPath, "bridge")], { env: this.cniEnv("ADD", id, netns), stdin: await this.conf(), background });
      const out = JSON.parse(res.stdout) as { ips?: { address: string }[]; interfaces?: { name: string; sandbox?: string }[] };
      const ip = out.ips?.[0]?.address.split("/")[0];
      const hostVeth = out.interfaces?.find((i) => !i.sandbox && i.name !== this.bridge)?.name ?? "";
      if (!ip) throw new Error(`CNI bridge gave no IP: ${res.stdout.slice(0, 200)}`);
      if (hostVeth) await run(["ip", "link", "set", "dev", hostVeth, "type", "bridge_slave", "isolated", "on"], { background });
      return { id, ip, netns, hostVeth };
    } catch (err) {
      await this.detach(id).catch(() => {});
      throw err;
    }
  }

  /** Releases the IP and removes the veth and the namespace; succeeds when already gone. */
  async detach(id: string, background = false): Promise<void> {
    const netns = this.netnsPath(id);
    await run([join(this.cniPath, "bridge")], { env: this.cniEnv("DEL", id, existsSync(netns) ? netns : ""), stdin: await this.conf(), allowFail: true, background });
    if (existsSync(netns)) await run(["ip", "netns", "delete", this.netnsName(id)], { allowFail: true, background });
  }

  /** Ids of pooled namespaces not yet handed out. */
  pooled(): Set<string> {
    return new Set(this.pool.map((a) => a.id));
  }

  /** CNI ids that have a namespace on this bridge (for sweeping leftovers). */
  namespaces(): string[] {
    try {
      const prefix = `${this.bridge}-`;
      return readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
    } catch {
      return [];
    }
  }

  /** [table, chain, ...rule] */
  private async rules(): Promise<string[][]> {
    const b = this.bridge;
    const subnet = await this.subnet();
    // Inserted at the top in this order, so the ACCEPTs end up above the DROP.
    const open = (this.openPorts ??= this.cfg.openPorts?.().filter((p) => Number.isInteger(p) && p > 0) ?? []);
    return [
      ["filter", "FORWARD", "-i", b, "-o", b, "-j", "DROP"],
      ["filter", "INPUT", "-i", b, "-m", "conntrack", "--ctstate", "NEW,INVALID", "-j", "DROP"],
      ...open.map((p) => ["filter", "INPUT", "-i", b, "-p", "tcp", "--dport", String(p), "-j", "ACCEPT"]),
      ["nat", "POSTROUTING", "-s", subnet, "!", "-o", b, "-j", "MASQUERADE"],
    ];
  }

  private async isolationRules(): Promise<void> {
    for (const r of await this.rules()) {
      const [table, chain, ...spec] = r as [string, string, ...string[]];
      const present = await run(["iptables", "-w", "-t", table, "-C", chain, ...spec], { allowFail: true });
      if (present.code !== 0) await run(["iptables", "-w", "-t", table, "-I", chain, "1", ...spec]);
    }
  }

  /** Removes the bridge, its isolation rules and the IPAM state (no container may be attached any more). */
  async teardown(): Promise<void> {
    await this.drainPool();
    for (const id of this.namespaces()) await this.detach(id).catch(() => {});
    for (const r of await this.rules()) {
      const [table, chain, ...spec] = r as [string, string, ...string[]];
      await run(["iptables", "-w", "-t", table, "-D", chain, ...spec], { allowFail: true });
    }
    await run(["ip", "link", "delete", this.bridge], { allowFail: true });
    rmSync(join(this.cfg.stateDir, "ipam"), { recursive: true, force: true });
    this.rulesReady = undefined;
    this.openPorts = undefined;
  }
}

/** A bridge name unique to a data directory: "eir" + 8 hex digits of its hash (Linux allows 15 characters). */
export function bridgeNameFor(dataDir: string): string {
  return `eir${new Bun.CryptoHasher("sha256").update(dataDir).digest("hex").slice(0, 8)}`;
}
