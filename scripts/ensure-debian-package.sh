#!/bin/sh
# Makes sure a Debian package's command is present for the tests that need it:
#   sh scripts/ensure-debian-package.sh <package> <command> <what needs it>
# e.g. `chromium /usr/bin/chromium "the dashboard's browser test"` or
# `redis-server redis-server "the Redis tests"`.
# Idempotent: does nothing when the command is there. Installs the package with apt-get when
# apt-get can be used (root, or passwordless sudo); otherwise says why not and exits 0 (those
# tests then skip themselves with a printed reason).
set -u
pkg=$1
cmd=$2
who=$3
tag="ensure $pkg"

present() { command -v "$cmd" >/dev/null 2>&1; }
version() { "$cmd" --version 2>/dev/null | head -n 1; }

if present; then
  echo "$tag: $(command -v "$cmd") is present ($(version))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$tag: no apt-get on this machine; install $pkg yourself to run $who (skipped meanwhile)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  SUDO="sudo -n"
else
  echo "$tag: apt-get needs root and sudo is not available without a password; run 'apt-get install -y $pkg' as root ($who are skipped meanwhile)"
  exit 0
fi
echo "$tag: installing $pkg with apt-get"
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg"; then
  if present; then echo "$tag: installed $(version)"; else echo "$tag: apt-get finished but $cmd is missing; $who will be skipped"; fi
else
  echo "$tag: apt-get install $pkg failed; $who will be skipped"
fi
# A package may start a system service on install; the tests start their own servers on free ports.
exit 0
