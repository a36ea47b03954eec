import type { SettingsRepo } from "../store/index.ts";
import type { BuildpackStore } from "./buildpack-store.ts";
import binaryDetect from "./buildpacks/binary/bin/detect" with { type: "text" };
import binaryFinalize from "./buildpacks/binary/bin/finalize" with { type: "text" };
import binaryRelease from "./buildpacks/binary/bin/release" with { type: "text" };
import binarySupply from "./buildpacks/binary/bin/supply" with { type: "text" };
import goDetect from "./buildpacks/go/bin/detect" with { type: "text" };
import goFinalize from "./buildpacks/go/bin/finalize" with { type: "text" };
import goRelease from "./buildpacks/go/bin/release" with { type: "text" };
import goSupply from "./buildpacks/go/bin/supply" with { type: "text" };
import runtimeLib from "./buildpacks/lib/runtime.sh" with { type: "text" };
import nodejsDetect from "./buildpacks/nodejs/bin/detect" with { type: "text" };
import nodejsFinalize from "./buildpacks/nodejs/bin/finalize" with { type: "text" };
import nodejsRelease from "./buildpacks/nodejs/bin/release" with { type: "text" };
import nodejsSupply from "./buildpacks/nodejs/bin/supply" with { type: "text" };
import pythonDetect from "./buildpacks/python/bin/detect" with { type: "text" };
import pythonFinalize from "./buildpacks/python/bin/finalize" with { type: "text" };
import pythonRelease from "./buildpacks/python/bin/release" with { type: "text" };
import pythonSupply from "./buildpacks/python/bin/supply" with { type: "text" };
import rubyDetect from "./buildpacks/ruby/bin/detect" with { type: "text" };
import rubyFinalize from "./buildpacks/ruby/bin/finalize" with { type: "text" };
import rubyRelease from "./buildpacks/ruby/bin/release" with { type: "text" };
import rubySupply from "./buildpacks/ruby/bin/supply" with { type: "text" };
import staticDetect from "./buildpacks/staticfile/bin/detect" with { type: "text" };
import staticFinalize from "./buildpacks/staticfile/bin/finalize" with { type: "text" };
import staticRelease from "./buildpacks/staticfile/bin/release" with { type: "text" };
import staticSupply from "./buildpacks/staticfile/bin/supply" with { type: "text" };
import { zipItems } from "./zip-dir.ts";

type Scripts = { detect: string; supply: string; finalize: string; release: string };

/**
 * The buildpacks embedded in the binary (static text imports, so `bun build
 * --compile` carries them), with CF's names, in CF's autodetection order
 * (cf-deployment's: staticfile, ruby, nodejs, go, python, binary). Each zip
 * also carries `lib/runtime.sh`, how they get runtimes from the runtime
 * store. `aliases` are the names earlier eirini versions used.
 * binary_buildpack detects a Procfile with a web process (eirini's own
 * extension, last, so every language buildpack is tried first).
 */
export const BUILTIN_BUILDPACKS: ReadonlyArray<{ name: string; aliases: string[]; scripts: Scripts }> = [
  { name: "staticfile_buildpack", aliases: ["staticfile"], scripts: { detect: staticDetect, supply: staticSupply, finalize: staticFinalize, release: staticRelease } },
  { name: "ruby_buildpack", aliases: ["ruby"], scripts: { detect: rubyDetect, supply: rubySupply, finalize: rubyFinalize, release: rubyRelease } },
  { name: "nodejs_buildpack", aliases: ["nodejs", "node"], scripts: { detect: nodejsDetect, supply: nodejsSupply, finalize: nodejsFinalize, release: nodejsRelease } },
  { name: "go_buildpack", aliases: ["go"], scripts: { detect: goDetect, supply: goSupply, finalize: goFinalize, release: goRelease } },
  { name: "python_buildpack", aliases: ["python"], scripts: { detect: pythonDetect, supply: pythonSupply, finalize: pythonFinalize, release: pythonRelease } },
  { name: "binary_buildpack", aliases: ["binary", "procfile"], scripts: { detect: binaryDetect, supply: binarySupply, finalize: binaryFinalize, release: binaryRelease } },
];

/** The built-in name an old short name (`nodejs`, `procfile`, ...) stands for, or null. */
export function builtinAlias(name: string): string | null {
  return BUILTIN_BUILDPACKS.find((b) => b.aliases.includes(name))?.name ?? null;
}

/** A built-in buildpack as a zip (byte-identical for identical scripts). */
export function builtinZip(scripts: Scripts): Uint8Array {
  const enc = new TextEncoder();
  return zipItems([
    ...Object.entries(scripts).map(([k, text]) => ({ path: `bin/${k}`, data: enc.encode(text), mode: 0o100755 })),
    { path: "lib/runtime.sh", data: enc.encode(runtimeLib), mode: 0o100644 },
  ]);
}

const settingKey = (name: string) => `st8ge.builtin.${name}`;

/**
 * Renames a built-in an earlier eirini installed under its short name
 * (`nodejs` -> `nodejs_buildpack`), keeping the admin's position, enabled and
 * lock choices; `procfile`, now part of binary_buildpack, goes away when the
 * admin never touched it.
 */
function renameOldBuiltins(store: BuildpackStore, settings: SettingsRepo): void {
  for (const b of BUILTIN_BUILDPACKS) {
    for (const old of b.aliases) {
      const seen = settings.get(settingKey(old));
      if (seen === null) continue;
      const row = store.get(old);
      if (row && row.blob_digest === seen) {
        if (!store.get(b.name)) {
          store.update(old, { name: b.name });
          settings.set(settingKey(b.name), seen);
        } else if (!row.locked) {
          store.delete(old);
        }
      }
    }
  }
}

/**
 * Installs the built-in buildpacks into the store; idempotent, run at every
 * start. A built-in is added the first time this data dir sees it, and its
 * bits are refreshed when a newer eirini ships different scripts, unless the
 * admin deleted it, replaced its bits, or locked it: admin choices win.
 */
export async function installBuiltinBuildpacks(store: BuildpackStore, settings: SettingsRepo): Promise<string[]> {
  renameOldBuiltins(store, settings);
  const changed: string[] = [];
  for (const [i, { name, scripts }] of BUILTIN_BUILDPACKS.entries()) {
    const zip = builtinZip(scripts);
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(zip).digest("hex")}`;
    const seen = settings.get(settingKey(name));
    const row = store.get(name);
    if (seen === null) {
      if (!row) store.create({ name, position: Math.min(i + 1, store.list().length + 1) });
      if (!row || !row.blob_digest) await store.uploadZipBytes(name, zip, `${name}.zip`);
    } else if (row && row.blob_digest === seen && seen !== digest && !row.locked) {
      await store.uploadZipBytes(name, zip, `${name}.zip`);
    } else {
      continue;
    }
    settings.set(settingKey(name), digest);
    changed.push(name);
  }
  return changed;
}
