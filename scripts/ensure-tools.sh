#!/usr/bin/env bash
# Makes a fresh machine ready: Bun at the pinned version, then the locked dependencies.
set -euo pipefail
BUN_VERSION=1.4.5
cd "$(dirname "$0")/.."

if [ "$(bun --version 2>/dev/null || true)" != "$BUN_VERSION" ]; then
  echo "installing bun $BUN_VERSION with npm" >&2
  if ! npm install -g "bun@$BUN_VERSION" >&2; then
    # No write access to the global prefix: install beside the project instead.
    npm install --prefix .tools "bun@$BUN_VERSION" >&2
  fi
fi

if [ ! -f node_modules/.installed ] || [ bun.lock -nt node_modules/.installed ] || [ package.json -nt node_modules/.installed ]; then
  bun install --frozen-lockfile >&2
  touch node_modules/.installed
fi
