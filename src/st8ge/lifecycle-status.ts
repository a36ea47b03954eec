import { NO_BUILDPACK_DETECTED, StagingError } from "./errors.ts";

/**
 * builder.sh's `out/status` line ("<phase> <buildpack index> <rc>") as the
 * error CF users know. Every executor reads the same file, so they all word
 * failures alike; `otherwise` describes a lifecycle that died before writing it.
 */
export function lifecycleError(status: string, buildpacks: readonly { name: string }[], otherwise: string): StagingError {
  const [phase, idx, rc] = status.trim().split(" ");
  const name = buildpacks[Number(idx)]?.name ?? "?";
  switch (phase) {
    case "detect":
      return new StagingError("NoAppDetectedError", NO_BUILDPACK_DETECTED);
    case "multi":
      return new StagingError("BuildpackCompileFailed", `buildpack ${name} cannot supply dependencies to another buildpack (it has no bin/supply)`);
    case "nofinal":
      return new StagingError("BuildpackCompileFailed", `buildpack ${name} has neither bin/finalize nor bin/compile`);
    case "norelease":
      return new StagingError("BuildpackReleaseFailed", `buildpack ${name} has no bin/release`);
    case "release":
      return new StagingError("BuildpackReleaseFailed", `buildpack ${name}: bin/release failed with exit status ${rc}`);
    case "supply":
    case "finalize":
    case "compile":
      return new StagingError("BuildpackCompileFailed", `buildpack ${name}: bin/${phase} failed with exit status ${rc}`);
    default:
      return new StagingError("StagerError", otherwise);
  }
}
