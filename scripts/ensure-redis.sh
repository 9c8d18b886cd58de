#!/bin/sh
# Makes sure Debian's redis-server is on PATH for the state-store's Redis tests.
# Idempotent: does nothing when it is there. Installs it with apt-get when apt-get can be used
# (root, or passwordless sudo); otherwise says why not and exits 0 (the Redis tests then skip
# themselves with a printed reason).
set -u

if command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: $(command -v redis-server) is present ($(redis-server --version 2>/dev/null | head -n 1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: no apt-get on this machine; install redis-server yourself to run the Redis tests (they are skipped meanwhile)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  SUDO="sudo -n"
else
  echo "ensure-redis: apt-get needs root and sudo is not available without a password; run 'apt-get install -y redis-server' as root (the Redis tests are skipped meanwhile)"
  exit 0
fi

echo "ensure-redis: installing redis-server with apt-get"
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "ensure-redis: installed $(redis-server --version 2>/dev/null | head -n 1)"
  else
    echo "ensure-redis: apt-get finished but redis-server is not on PATH; the Redis tests will be skipped"
  fi
else
  echo "ensure-redis: apt-get install redis-server failed; the Redis tests will be skipped"
fi
# Debian starts a system service on install; the tests start their own servers on free ports.
exit 0
