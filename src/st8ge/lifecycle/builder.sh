#!/bin/sh
# The classic Cloud Foundry buildpack lifecycle for one staging, run as the
# leader of the staging's process group (so a kill of the group stops every
# buildpack process). Inputs come from the work dir the executor prepared:
#   $ST8GE_WORK/plan              one line per buildpack: "<index> <cache-key>"
#   $ST8GE_WORK/buildpacks/<i>/   the unpacked buildpacks, in order
#   $ST8GE_WORK/droplet/app       the unpacked app (the build dir)
#   $ST8GE_MODE                   "detect": first buildpack whose bin/detect
#                                 succeeds is the only one; "named": all run,
#                                 every one but the last supplies, the last is final
# Outputs in $ST8GE_WORK/out: chosen (final buildpack index), detect (its
# detect output), release.yml, and on failure status ("<phase> <index> <rc>").
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
    if [ -x "$d/bin/detect" ] && "$d/bin/detect" "$build" > "$out/detect"; then
      chosen=$i
      break
    fi
    i=$((i + 1))
  done
  [ -n "$chosen" ] || fail detect - 1
  first=$chosen
  final=$chosen
  depsidx=0
else
  first=0
  final=$((count - 1))
  depsidx=$final
fi
printf '%s\n' "$final" > "$out/chosen"

# Supply buildpacks (multi-buildpack): every one before the final.
i=$first
while [ "$i" -lt "$final" ]; do
  d=$work/buildpacks/$i
  eval "key=\$key_$i"
  [ -x "$d/bin/supply" ] || fail multi "$i" 1
  mkdir -p "$deps/$i" "$cache/$key"
  "$d/bin/supply" "$build" "$cache/$key" "$deps" "$i" || fail supply "$i" "$?"
  i=$((i + 1))
done

d=$work/buildpacks/$final
eval "key=\$key_$final"
mkdir -p "$deps/$depsidx" "$cache/$key"
if [ -x "$d/bin/finalize" ]; then
  if [ -x "$d/bin/supply" ]; then
    "$d/bin/supply" "$build" "$cache/$key" "$deps" "$depsidx" || fail supply "$final" "$?"
  fi
  "$d/bin/finalize" "$build" "$cache/$key" "$deps" "$depsidx" "$profiled" || fail finalize "$final" "$?"
elif [ -x "$d/bin/compile" ]; then
  if [ "$final" -gt "$first" ]; then
    echo "Warning: the last buildpack is not compatible with multi-buildpack apps and cannot make use of any dependencies supplied by the buildpacks specified before it" >&2
  fi
  "$d/bin/compile" "$build" "$cache/$key" || fail compile "$final" "$?"
else
  fail nofinal "$final" 1
fi

[ -x "$d/bin/release" ] || fail norelease "$final" 1
"$d/bin/release" "$build" > "$out/release.yml" || fail release "$final" "$?"
exit 0
