import { rmSync } from "node:fs";
import { RuntimeError } from "./errors.ts";
import type { RuntimeDependency, RuntimeStore } from "./store.ts";
import { normalizeConstraint, pickVersion, validConstraint } from "./versions.ts";

export interface RuntimeSource {
  name: string;
  version: string;
  cf_stacks: string[];
  uri: string;
  sha256: string;
}

export interface RuntimeProviderOptions {
  store: RuntimeStore;
  /** Admin's permission to download missing runtimes from `sources`. */
  download: boolean;
  sources: RuntimeSource[];
  fetchImpl?: typeof fetch;
}

/**
 * What staging asks for a runtime: the store's best match, else (only when
 * the admin allows downloads) the best matching source, downloaded, checked
 * against its sha256 and added to the store. A miss is a RuntimeError whose
 * message names the runtime, the wanted version and what the store has.
 */
export class RuntimeProvider {
  private readonly inflight = new Map<string, Promise<RuntimeDependency>>();

  constructor(private readonly o: RuntimeProviderOptions) {}

  get store(): RuntimeStore {
    return this.o.store;
  }

  async resolve(name: string, constraint: string, stack: string): Promise<RuntimeDependency> {
    if (!validConstraint(constraint)) throw new RuntimeError("InvalidRuntime", `${name} version ${JSON.stringify(constraint)} is not a version or version range`);
    const found = this.o.store.resolve(name, constraint, stack);
    if (found) return found;
    const wanted = normalizeConstraint(constraint) === "*" ? "(any version)" : constraint;
    const have = this.o.store.versions(name, stack);
    const base = `runtime ${name} ${wanted} for stack ${stack} is not in this appliance's runtime store (${have.length ? `it has ${have.join(", ")}` : `it has no ${name} for ${stack}`})`;
    const candidates = this.o.sources.filter((s) => s.name === name && s.cf_stacks.includes(stack));
    const version = pickVersion(
      candidates.map((s) => s.version),
      constraint,
    );
    if (version === null) throw new RuntimeError(have.length ? "VersionNotFound" : "RuntimeNotFound", `${base}; add it with \`eirini runtimes add FILE\``);
    // "RuntimeNotFound" whenever the store has none of `name` for the stack: buildpacks may then use the stack's own.
    if (!this.o.download) throw new RuntimeError(have.length ? "DownloadDisabled" : "RuntimeNotFound", `${base}; downloads are off (staging.runtimes.download): add it with \`eirini runtimes add FILE\``);
    const src = candidates.find((s) => s.version === version)!;
    const key = `${name}@${version}@${stack}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.download(src, stack).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async download(src: RuntimeSource, stack: string): Promise<RuntimeDependency> {
    const tmp = this.o.store.blobs.tempPath("download");
    try {
      let res: Response;
      try {
        res = await (this.o.fetchImpl ?? fetch)(src.uri);
      } catch (err) {
        throw new RuntimeError("DownloadFailed", `runtime ${src.name} ${src.version}: download failed (is this machine online?): ${(err as Error).message}`, { cause: err });
      }
      if (!res.ok || !res.body) throw new RuntimeError("DownloadFailed", `runtime ${src.name} ${src.version}: download failed with HTTP ${res.status}`);
      await Bun.write(tmp, res);
      return await this.o.store.addFile({ name: src.name, version: src.version, stack }, tmp, src.sha256);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}
