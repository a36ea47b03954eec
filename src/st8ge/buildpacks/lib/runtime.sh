# Sourced by the built-in buildpacks: runtimes (node, python, go, ...) come
# from the appliance's runtime store, never from the stack. The staging has
# EIRINI_RUNTIMES_URL and a read-only EIRINI_RUNTIMES_TOKEN; the archive is
# checked against the sha256 the store names and kept in the buildpack cache,
# unpacked, so a re-staging copies it from there without any transfer.
#
#   install_runtime NAME VERSION-RANGE DEST CACHE
# sets RUNTIME_VERSION. Returns 1 with the store's one-line reason on stderr
# when the store has no matching runtime; 2, with the reason in
# RUNTIME_MISSING and nothing printed, when the store has no runtime of that
# NAME for the stack at all (the caller may fall back to the stack's own).
# require_runtime takes the same arguments and fails with the reason either way.

runtime_fail() {
  printf '       **ERROR** %s\n' "$*" >&2
}

rt_curl() {
  if [ -n "$rt_sock" ]; then curl --unix-socket "$rt_sock" "$@"; else curl "$@"; fi
}

install_runtime() {
  rt_name=$1
  rt_want=$2
  rt_dest=$3
  rt_cache=$4
  RUNTIME_VERSION=
  RUNTIME_MISSING=
  # A local staging has a unix socket to the appliance; a pod, its URL.
  rt_base=${EIRINI_RUNTIMES_URL:-}
  rt_sock=
  if [ -n "${EIRINI_RUNTIMES_SOCKET:-}" ] && [ -S "$EIRINI_RUNTIMES_SOCKET" ]; then
    rt_sock=$EIRINI_RUNTIMES_SOCKET
    rt_base=http://appliance/st8ge/runtimes
  fi
  if [ -z "$rt_base" ] || [ -z "${EIRINI_RUNTIMES_TOKEN:-}" ]; then
    RUNTIME_MISSING="runtime $rt_name ${rt_want:-(any version)} is needed, but this staging has no runtime store to get it from"
    return 2
  fi
  rt_auth="Authorization: Bearer $EIRINI_RUNTIMES_TOKEN"
  rt_ans=$(rt_curl -sS -G -w '\n%{http_code}' -H "$rt_auth" --data-urlencode "name=$rt_name" --data-urlencode "version=$rt_want" --data-urlencode "stack=${CF_STACK:-}" "$rt_base/resolve" 2>&1)
  rt_code=$(printf '%s\n' "$rt_ans" | tail -n 1)
  rt_body=$(printf '%s\n' "$rt_ans" | sed '$d')
  case "$rt_code" in
    200) ;;
    404) RUNTIME_MISSING=$rt_body; return 2 ;;
    # Unreachable (e.g. a staging container whose network cannot reach the appliance): as if there were no store.
    000) RUNTIME_MISSING="runtime $rt_name ${rt_want:-(any version)} is needed, but the runtime store did not answer: $rt_body"; return 2 ;;
    *) runtime_fail "$rt_body"; return 1 ;;
  esac
  # shellcheck disable=SC2086
  set -- $rt_body
  RUNTIME_VERSION=$2
  rt_sha=$3
  rt_dir=$rt_cache/runtimes/$rt_name-$rt_sha
  if [ -d "$rt_dir" ]; then
    echo "-----> Using $rt_name $RUNTIME_VERSION from the cache"
  else
    echo "-----> Installing $rt_name $RUNTIME_VERSION"
    # Only the newest runtime of a name stays cached.
    rm -rf "$rt_cache/runtimes/$rt_name-"*
    mkdir -p "$rt_cache/runtimes"
    rt_tgz=$rt_cache/runtimes/.$rt_name-$rt_sha.tgz
    if ! rt_curl -fsS -H "$rt_auth" -o "$rt_tgz" "$rt_base/files/$rt_sha" 2>"$rt_tgz.err"; then
      runtime_fail "downloading $rt_name $RUNTIME_VERSION from the runtime store failed: $(cat "$rt_tgz.err")"
      rm -f "$rt_tgz" "$rt_tgz.err"
      return 1
    fi
    rm -f "$rt_tgz.err"
    rt_got=$(sha256sum "$rt_tgz" | cut -d' ' -f1)
    if [ "$rt_got" != "$rt_sha" ]; then
      runtime_fail "$rt_name $RUNTIME_VERSION: the download has sha256 $rt_got, not $rt_sha"
      rm -f "$rt_tgz"
      return 1
    fi
    mkdir -p "$rt_dir.tmp"
    if ! tar -xzf "$rt_tgz" -C "$rt_dir.tmp"; then
      runtime_fail "$rt_name $RUNTIME_VERSION: the archive does not unpack"
      rm -rf "$rt_dir.tmp" "$rt_tgz"
      return 1
    fi
    rm -f "$rt_tgz"
    # Links to absolute paths point outside the runtime (and a staging's cache may not hold them).
    find "$rt_dir.tmp" -type l -lname '/*' -exec rm -f {} + 2>/dev/null
    mv "$rt_dir.tmp" "$rt_dir"
  fi
  if [ -n "$rt_dest" ]; then
    rm -rf "$rt_dest"
    mkdir -p "$(dirname "$rt_dest")"
    # Hard links when cache and droplet share a filesystem (a re-staging copies nothing).
    cp -al "$rt_dir" "$rt_dest" 2>/dev/null || cp -a "$rt_dir" "$rt_dest"
  fi
  return 0
}

require_runtime() {
  install_runtime "$@"
  rt_rc=$?
  [ "$rt_rc" = 2 ] && runtime_fail "$RUNTIME_MISSING"
  [ "$rt_rc" = 0 ]
}

# The value of a top-level JSON object's string member inside another
# ("engines" -> "node") without a JSON tool: enough for package.json.
json_member() {
  tr -d '\n\r' < "$1" | grep -o "\"$2\"[[:space:]]*:[[:space:]]*{[^}]*}" | grep -o "\"$3\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" | head -n 1 | sed 's/.*:[[:space:]]*"\([^"]*\)"$/\1/'
}

# Writes the deps/<index>/config.yml libbuildpack-based buildpacks write: the
# builder reads name and version from it for the droplet's buildpack list.
write_dep_config() {
  printf -- "---\nname: %s\nconfig: {}\nversion: %s\n" "$3" "$4" > "$1/$2/config.yml"
}
