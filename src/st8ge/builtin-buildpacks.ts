import type { SettingsRepo } from "../store/index.ts";
import type { BuildpackStore } from "./buildpack-store.ts";
import binaryDetect from "./buildpacks/binary/bin/detect" with { type: "text" };
import binaryFinalize from "./buildpacks/binary/bin/finalize" with { type: "text" };
import binaryRelease from "./buildpacks/binary/bin/release" with { type: "text" };
import binarySupply from "./buildpacks/binary/bin/supply" with { type: "text" };
import nodejsDetect from "./buildpacks/nodejs/bin/detect" with { type: "text" };
import nodejsFinalize from "./buildpacks/nodejs/bin/finalize" with { type: "text" };
import nodejsRelease from "./buildpacks/nodejs/bin/release" with { type: "text" };
import nodejsSupply from "./buildpacks/nodejs/bin/supply" with { type: "text" };
import procfileDetect from "./buildpacks/procfile/bin/detect" with { type: "text" };
import procfileFinalize from "./buildpacks/procfile/bin/finalize" with { type: "text" };
import procfileRelease from "./buildpacks/procfile/bin/release" with { type: "text" };
import procfileSupply from "./buildpacks/procfile/bin/supply" with { type: "text" };
import staticDetect from "./buildpacks/staticfile/bin/detect" with { type: "text" };
import staticFinalize from "./buildpacks/staticfile/bin/finalize" with { type: "text" };
import staticRelease from "./buildpacks/staticfile/bin/release" with { type: "text" };
import staticSupply from "./buildpacks/staticfile/bin/supply" with { type: "text" };
import { zipItems } from "./zip-dir.ts";

type Scripts = { detect: string; supply: string; finalize: string; release: string };

/**
 * The buildpacks embedded in the binary (static text imports, so `bun build
 * --compile` carries them), in autodetection order: a Staticfile wins over a
 * package.json, which wins over a bare Procfile; `binary` is only used by name.
 */
export const BUILTIN_BUILDPACKS: ReadonlyArray<{ name: string; scripts: Scripts }> = [
  { name: "staticfile", scripts: { detect: staticDetect, supply: staticSupply, finalize: staticFinalize, release: staticRelease } },
  { name: "nodejs", scripts: { detect: nodejsDetect, supply: nodejsSupply, finalize: nodejsFinalize, release: nodejsRelease } },
  { name: "procfile", scripts: { detect: procfileDetect, supply: procfileSupply, finalize: procfileFinalize, release: procfileRelease } },
  { name: "binary", scripts: { detect: binaryDetect, supply: binarySupply, finalize: binaryFinalize, release: binaryRelease } },
];

/** A built-in buildpack as a zip (byte-identical for identical scripts). */
export function builtinZip(scripts: Scripts): Uint8Array {
  const enc = new TextEncoder();
  return zipItems(Object.entries(scripts).map(([k, text]) => ({ path: `bin/${k}`, data: enc.encode(text), mode: 0o100755 })));
}

const settingKey = (name: string) => `st8ge.builtin.${name}`;

/**
 * Installs the built-in buildpacks into the store; idempotent, run at every
 * start. A built-in is added the first time this data dir sees it, and its
 * bits are refreshed when a newer eirini ships different scripts, unless the
 * admin deleted it, replaced its bits, or locked it: admin choices win.
 */
export async function installBuiltinBuildpacks(store: BuildpackStore, settings: SettingsRepo): Promise<string[]> {
  const changed: string[] = [];
  for (const { name, scripts } of BUILTIN_BUILDPACKS) {
    const zip = builtinZip(scripts);
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(zip).digest("hex")}`;
    const seen = settings.get(settingKey(name));
    const row = store.get(name);
    if (seen === null) {
      if (!row) store.create({ name });
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
