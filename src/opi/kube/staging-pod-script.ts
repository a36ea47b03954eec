/**
 * What a staging pod runs (`/bin/sh -c`), in its working dir (an emptyDir):
 * 1. init: download the prepared staging input (app, buildpacks, cache,
 *    plan, st8ge's builder.sh) from the appliance with the staging's token;
 * 2. run builder.sh, every line prefixed "O " or "E " because the pod log
 *    merges stdout and stderr and staging logs keep them apart;
 * 3. upload the result (out/, the new cache, the app's Procfile); the
 *    appliance answers with staging_info.yml, or 409 when staging failed;
 * 4. pack the droplet, hash it, upload it with its digest (verified by the
 *    appliance while it streams).
 * Each prefixed line is written whole (awk, one write per line) so the two
 * streams never interleave mid-line.
 * Needs only sh, curl, tar, gzip, awk, mkfifo and sha256sum: any stack image.
 * Lines the script itself prints to stdout carry the same prefixes.
 */
export const STAGING_POD_SCRIPT = String.raw`set -u
W=$PWD
A="Authorization: Bearer $ST8GE_TOKEN"
unset ST8GE_TOKEN
say() { printf 'O %s\n' "$*"; }
die() { printf 'E %s\n' "$*"; exit 1; }
get() { curl -fsS --retry 3 --retry-connrefused -H "$A" "$@" 2>"$W/.curl"; }
get -o "$W/input.tgz" "$ST8GE_URL/input" || die "downloading the staging input failed: $(cat "$W/.curl")"
tar -xzf "$W/input.tgz" -C "$W" || die "unpacking the staging input failed"
rm -f "$W/input.tgz"
mkfifo "$W/.o" "$W/.e" || die "mkfifo failed"
awk '{ printf "O %s\n", $0; fflush() }' <"$W/.o" & o=$!
awk '{ printf "E %s\n", $0; fflush() }' <"$W/.e" & e=$!
(cd "$W/droplet/app" && HOME="$W/home" TMPDIR="$W/tmp" ST8GE_WORK="$W" exec /bin/sh "$W/lifecycle.sh") >"$W/.o" 2>"$W/.e"
rc=$?
wait $o $e
rm -f "$W/.o" "$W/.e"
echo "$rc" > "$W/out/exit"
P=
[ -f "$W/droplet/app/Procfile" ] && P=droplet/app/Procfile
(cd "$W" && tar -czf - out cache $P) | get -T - -o "$W/droplet/staging_info.yml" "$ST8GE_URL/result"
c=$?
if [ "$c" != 0 ]; then
  [ "$c" = 22 ] || die "uploading the staging result failed: $(cat "$W/.curl")"
  exit 1
fi
[ "$rc" = 0 ] || exit "$rc"
tar -czf "$W/droplet.tgz" -C "$W/droplet" . || die "packing the droplet failed"
d=$(sha256sum "$W/droplet.tgz" | cut -d' ' -f1)
get -T "$W/droplet.tgz" -H "X-Droplet-Digest: sha256:$d" "$ST8GE_URL/droplet" || die "uploading the droplet failed: $(cat "$W/.curl")"
`;
