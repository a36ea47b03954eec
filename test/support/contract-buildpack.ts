import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Buildpacks that exercise the classic v2 lifecycle contract the way
 * libbuildpack-based buildpacks (CF's nodejs, python, ruby, go, ...) use it,
 * and write down what they saw, so a test can hold it against what Diego's
 * builder (buildpackapplifecycle) gives them:
 *
 * - `supply` (a supply buildpack, as libbuildpack's Stager): bin/supply gets
 *   <build> <cache> <deps> <index>; writes deps/<index>/config.yml (name,
 *   version), bin/, env/, profile.d/, and a launch.yml with a `worker`
 *   process; keeps a marker in its cache; records argc, cache dir name,
 *   which deps dirs exist, the staging env (CF_STACK, MEMORY_LIMIT,
 *   VCAP_APPLICATION, VCAP_SERVICES, DATABASE_URL), what earlier supply
 *   buildpacks left (SetStagingEnvironment: deps/<i>/bin on PATH, env/ files).
 * - `final`: bin/supply + bin/finalize (5 args: the profile dir) + bin/release;
 *   finalize does libbuildpack's SetLaunchEnvironment: profile.d/000_multi-supply.sh
 *   exporting PATH with `$DEPS_DIR/<i>/bin`, and each deps/<i>/profile.d/<f>
 *   copied as profile.d/<i>_<f>; its config.yml names it `contract_final`.
 * - `compile`: an old buildpack (bin/detect, bin/compile <build> <cache>, bin/release).
 *
 * Every observation goes to <build>/.contract/<phase>-<tag>.txt as key=value
 * lines, so it travels in the droplet. The web process `sh contract-run.sh`
 * prints, at run time, what the launcher gave it (PATH tools, profile.d vars).
 */
const COMMON = `
o="$1/.contract"
mkdir -p "$o"
rec() { printf '%s=%s\\n' "$1" "$2" >> "$o/$PHASE-$TAG.txt"; }
env_rec() {
  rec stack "\${CF_STACK:-}"
  rec memory "\${MEMORY_LIMIT:-}"
  rec app_name "$(printf '%s' "\${VCAP_APPLICATION:-}" | sed -n 's/.*"application_name":"\\([^"]*\\)".*/\\1/p')"
  rec services "\${VCAP_SERVICES:-}"
  rec database_url "\${DATABASE_URL:-}"
  rec lang "\${LANG:-}"
}
`;

function script(body: string): string {
  return `#!/bin/sh\nset -eu\n${body}`;
}

export function supplyBuildpack(dir: string, tag: string): string {
  write(dir, {
    "bin/detect": script(`echo ${tag}\n`),
    "bin/supply": script(`PHASE=supply TAG=${tag}
${COMMON}
build=$1 cache=$2 deps=$3 idx=$4
rec argc $#
rec cache_base "$(basename "$cache")"
rec cache_exists "$( [ -d "$cache" ] && echo yes || echo no)"
rec deps_dirs "$(ls "$deps" | tr '\\n' ' ' | sed 's/ $//')"
rec idx "$idx"
rec cache_marker "$(cat "$cache/marker" 2>/dev/null || echo none)"
rec earlier_configs "$(ls "$deps"/*/config.yml 2>/dev/null | wc -l | tr -d ' ')"
# libbuildpack SetStagingEnvironment: earlier deps' bin/ and env/ are visible to a later supply.
tools=
for b in "$deps"/*/bin/tool-*; do [ -x "$b" ] && tools="$tools $("$b")"; done
rec earlier_tools "$(echo $tools)"
env_rec
echo "${tag}-$idx" > "$cache/marker"
printf -- '---\\nname: ${tag}\\nversion: 1.2.3\\nconfig: {}\\n' > "$deps/$idx/config.yml"
mkdir -p "$deps/$idx/bin" "$deps/$idx/env" "$deps/$idx/profile.d"
printf '#!/bin/sh\\necho tool-${tag}\\n' > "$deps/$idx/bin/tool-${tag}"
chmod +x "$deps/$idx/bin/tool-${tag}"
printf 'value-${tag}' > "$deps/$idx/env/CONTRACT_${tag.toUpperCase()}"
printf 'export FROM_PROFILE_${tag.toUpperCase()}=yes\\n' > "$deps/$idx/profile.d/${tag}.sh"
printf 'processes:\\n- type: worker\\n  command: echo worker-from-${tag}\\n' > "$deps/$idx/launch.yml"
echo "-----> ${tag} supplied at $idx"
`),
  });
  return dir;
}

export function finalBuildpack(dir: string, tag = "final"): string {
  write(dir, {
    "bin/detect": script(`echo contract-detect-output\n`),
    "bin/supply": script(`PHASE=finalsupply TAG=${tag}
${COMMON}
rec argc $#
rec cache_base "$(basename "$2")"
rec idx "$4"
rec cache_marker "$(cat "$2/marker" 2>/dev/null || echo none)"
printf -- '---\\nname: contract_final\\nversion: 9.9.9\\nconfig:\\n  entrypoint_prefix: ""\\n' > "$3/$4/config.yml"
`),
    "bin/finalize": script(`PHASE=finalize TAG=${tag}
${COMMON}
build=$1 cache=$2 deps=$3 idx=$4 profiled=$5
rec argc $#
rec cache_base "$(basename "$cache")"
rec idx "$idx"
rec profile_dir_is_sibling "$( [ "$(cd "$profiled" && pwd)" = "$(cd "$deps/.." && pwd)/profile.d" ] && echo yes || echo no)"
rec profile_dir_exists "$( [ -d "$profiled" ] && echo yes || echo no)"
env_rec
echo "final-$idx" > "$cache/marker"
# libbuildpack SetLaunchEnvironment.
paths=
for d in "$deps"/*; do
  [ -d "$d/bin" ] && paths="\\$DEPS_DIR/$(basename "$d")/bin:$paths"
done
printf 'export PATH=%s$PATH\\n' "$paths" > "$profiled/000_multi-supply.sh"
for d in "$deps"/*/profile.d; do
  [ -d "$d" ] || continue
  i=$(basename "$(dirname "$d")")
  for f in "$d"/*; do [ -f "$f" ] && cp "$f" "$profiled/\${i}_$(basename "$f")"; done
done
# What every phase saw, in the staging log too (a Kubernetes staging pod keeps no files).
for f in "$o"/*.txt; do
  while IFS= read -r line; do echo "observed $(basename "$f" .txt) $line"; done < "$f"
done
cat > "$build/contract-run.sh" <<'RUN'
echo "run:deps_dir_set=$( [ -n "\${DEPS_DIR:-}" ] && [ -d "$DEPS_DIR" ] && echo yes || echo no)"
for t in $(ls "$DEPS_DIR"/*/bin 2>/dev/null | grep '^tool-'); do echo "run:tool=$($t)"; done
env | grep '^FROM_PROFILE_' | sort | sed 's/^/run:/'
RUN
`),
    "bin/release": script(`echo '---'\necho 'default_process_types:'\necho '  web: sh contract-run.sh'\n`),
  });
  return dir;
}

export function compileBuildpack(dir: string): string {
  write(dir, {
    "bin/detect": script(`echo old-style\n`),
    "bin/compile": script(`PHASE=compile TAG=old
${COMMON}
rec argc $#
rec cache_base "$(basename "$2")"
rec deps_dirs "$(ls "$(dirname "$1")/deps" | tr '\\n' ' ' | sed 's/ $//')"
env_rec
echo 'web: sh -c "echo from-procfile"' > "$1/Procfile"
`),
    "bin/release": script(`echo '---'\necho 'default_process_types:'\necho '  web: echo from-release'\n`),
  });
  return dir;
}

function write(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, text);
    chmodSync(p, 0o755);
  }
}

/** key=value lines of one observation file as a record. */
export function observations(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}
