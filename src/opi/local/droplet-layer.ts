import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand, VCAP_GID, VCAP_UID } from "../../container/index.ts";
import type { DropletCache } from "./droplet.ts";

/**
 * A droplet as a container image layer: `<root>/layers/<hash>/home/vcap/`
 * holding app/, deps/, profile.d/, tmp/, logs/ and staging_info.yml owned by
 * vcap (uid 2000), as CF lays out /home/vcap. Built once per droplet from the
 * safely unpacked droplet (DropletCache) and shared read-only by every
 * container of it as an overlay lower layer; writes land in each
 * container's own upper layer (copy-up), so the droplet is writable per
 * instance and never changes for the others.
 */
export class DropletLayers {
  private building = new Map<string, Promise<string>>();

  constructor(
    private readonly root: string,
    private readonly droplets: DropletCache,
  ) {
    mkdirSync(join(root, "layers"), { recursive: true });
  }

  /** The layer directory (its `home/vcap` is the droplet). */
  layer(hash: string): Promise<string> {
    const dir = join(this.root, "layers", hash);
    if (existsSync(join(dir, ".complete"))) return Promise.resolve(dir);
    let p = this.building.get(hash);
    if (!p) {
      p = this.build(hash, dir).finally(() => this.building.delete(hash));
      this.building.set(hash, p);
    }
    return p;
  }

  private async build(hash: string, dir: string): Promise<string> {
    const unpacked = await this.droplets.unpacked(hash);
    const tmp = `${dir}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    mkdirSync(join(tmp, "home"), { recursive: true });
    try {
      // CF droplets belong to vcap and are writable by it (the DropletCache copy is read-only); one shell, one spawn.
      const home = join(tmp, "home", "vcap");
      await runCommand(["/bin/sh", "-c", 'cp -a "$1" "$2" && rm -f "$2/.complete" && chown -R -h "$3" "$2" && chmod -R u+w "$2"', "layer", unpacked, home, `${VCAP_UID}:${VCAP_GID}`]);
      writeFileSync(join(tmp, ".complete"), hash);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return dir;
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }
}
