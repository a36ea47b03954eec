/**
 * Runtime dependencies (node, python, ruby, go, ...) the built-in buildpacks
 * install into droplets, so apps run on a stack that has none.
 * - `RuntimeStore`: `<dataDir>/runtimes`, content-addressed archives + one
 *   record per dependency (name, version, stack, sha256);
 * - `addRuntimeArchive`: an offline archive (tar[.gz] with a CF-style manifest.yml);
 * - `RuntimeProvider`: semver resolution, optional verified download;
 * - `runtimeRoutes` + `RuntimeTokens`: what a staging (local or pod) fetches
 *   runtimes through, and the admin API.
 */
export { RuntimeStore, RuntimeDependency, type RuntimeKey } from "./store.ts";
export { RuntimeError, type RuntimeErrorCode } from "./errors.ts";
export { addRuntimeArchive } from "./archive.ts";
export { RuntimeProvider, type RuntimeSource, type RuntimeProviderOptions } from "./provider.ts";
export { runtimeRoutes, RuntimeTokens, RUNTIMES_PREFIX } from "./routes.ts";
export { pickVersion, normalizeConstraint, validConstraint } from "./versions.ts";
