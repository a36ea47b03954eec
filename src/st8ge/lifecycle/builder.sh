#!/bin/sh
# The classic Cloud Foundry buildpack lifecycle for one staging, as Diego's
# builder (buildpackapplifecycle) runs it, as the leader of the staging's
# process group (so a kill of the group stops every buildpack process).
# Inputs come from the work dir the executor prepared:
#   $ST8GE_WORK/plan              one line per buildpack: "<index> <cache-key>"
#                                 (cache-key: xxhash64 of the buildpack key, %016x)
#   $ST8GE_WORK/buildpacks/<i>/   the unpacked buildpacks, in order
#   $ST8GE_WORK/droplet/app       the unpacked app (the build dir)
#   $ST8GE_MODE                   "detect": first buildpack whose bin/detect
#                                 succeeds is the only one; "named" (Diego's
#                                 skip-detect): every one but the last supplies,
#                                 the last is final
# As on Diego: supply buildpacks cache in cache/<key>, the final one in
# cache/final, and other cache dirs are removed; deps/<index> exists for
# every buildpack before any runs, the index zero-padded to the digits of
# the buildpack count; bin/compile (no bin/finalize) gets no deps dir;
# bin/release is skipped when the final buildpack wrote deps/<index>/launch.yml.
# Outputs in $ST8GE_WORK/out: chosen (final buildpack index), depsidx (its deps
# index), detect (its detect output), release.yml, deps/<index>/{config,launch}.yml
# copies, and on failure status ("<phase> <index> <rc>").
set -u
work=$ST8GE_WORK
mode=$ST8GE_MODE
unset ST8GE_WORK ST8GE_MODE
build=$work/droplet/app
deps=$work/droplet/deps
profiled=$work/droplet/profile.d
out=$work/out
cache=$work/cache

fail() {
  printf '%s %s %s\n' "$1" "$2" "$3" > "$out/status"
  exit 1
}

count=0
while read -r idx key; do
  eval "key_$idx=\$key"
  count=$((count + 1))
done < "$work/plan"

if [ "$mode" = detect ]; then
  chosen=
  i=0
  while [ "$i" -lt "$count" ]; do
    d=$work/buildpacks/$i
    if [ -f "$d/bin/detect" ] && [ ! -x "$d/bin/detect" ]; then
      echo "WARNING: buildpack script '/bin/detect' is not executable" >&2
    elif [ -x "$d/bin/detect" ] && "$d/bin/detect" "$build" > "$out/detect"; then
      chosen=$i
      break
    fi
    i=$((i + 1))
  done
  [ -n "$chosen" ] || fail detect - 1
  first=$chosen
  final=$chosen
  pad=1
else
  first=0
  final=$((count - 1))
  pad=${#count}
fi
nsupply=$((final - first))
depsidx() { printf "%0${pad}d" "$1"; }
printf '%s\n' "$final" > "$out/chosen"
fidx=$(depsidx "$nsupply")
printf '%s\n' "$fidx" > "$out/depsidx"

# Cache dirs: final, and one per supply buildpack; anything else goes.
mkdir -p "$cache/final"
keep=" final "
i=$first
while [ "$i" -lt "$final" ]; do
  eval "key=\$key_$i"
  mkdir -p "$cache/$key"
  keep="$keep$key "
  i=$((i + 1))
done
for c in "$cache"/* "$cache"/.[!.]*; do
  [ -e "$c" ] || continue
  case "$keep" in *" ${c##*/} "*) ;; *) rm -rf "$c" ;; esac
done
i=0
while [ "$i" -le "$nsupply" ]; do
  mkdir -p "$deps/$(depsidx "$i")"
  i=$((i + 1))
done

# Supply buildpacks (multi-buildpack): every one before the final, each with bin/supply.
i=$first
while [ "$i" -lt "$final" ]; do
  if [ ! -f "$work/buildpacks/$i/bin/supply" ]; then
    echo "Error: one of the buildpacks chosen to supply dependencies does not support multi-buildpack apps" >&2
    fail multi "$i" 1
  fi
  i=$((i + 1))
done
i=$first
while [ "$i" -lt "$final" ]; do
  eval "key=\$key_$i"
  "$work/buildpacks/$i/bin/supply" "$build" "$cache/$key" "$deps" "$(depsidx $((i - first)))" || fail supply "$i" "$?"
  i=$((i + 1))
done

d=$work/buildpacks/$final
if [ -f "$d/bin/finalize" ]; then
  if [ -f "$d/bin/supply" ]; then
    "$d/bin/supply" "$build" "$cache/final" "$deps" "$fidx" || fail supply "$final" "$?"
  fi
  "$d/bin/finalize" "$build" "$cache/final" "$deps" "$fidx" "$profiled" || fail finalize "$final" "$?"
elif [ -f "$d/bin/compile" ]; then
  if [ "$nsupply" -gt 0 ]; then
    echo "Warning: the last buildpack is not compatible with multi-buildpack apps and cannot make use of any dependencies supplied by the buildpacks specified before it" >&2
  fi
  rm -rf "${deps:?}/$fidx"
  "$d/bin/compile" "$build" "$cache/final" || fail compile "$final" "$?"
else
  fail nofinal "$final" 1
fi

# What the builder reads from the deps dirs, copied out (a pod uploads only out/).
for dd in "$deps"/*; do
  [ -d "$dd" ] || continue
  for f in config.yml launch.yml; do
    if [ -f "$dd/$f" ]; then
      mkdir -p "$out/deps/${dd##*/}"
      cp "$dd/$f" "$out/deps/${dd##*/}/$f"
    fi
  done
done

if [ ! -f "$deps/$fidx/launch.yml" ]; then
  [ -f "$d/bin/release" ] || fail norelease "$final" 1
  "$d/bin/release" "$build" > "$out/release.yml" || fail release "$final" "$?"
fi
exit 0
