#!/bin/sh
# Makes sure Debian's Chromium is at /usr/bin/chromium for the dashboard's browser test.
# Idempotent: does nothing when it is there. Installs it with apt-get when apt-get can be used
# (root, or passwordless sudo); otherwise says why not and exits 0 (the test then skips itself
# with a printed reason).
set -u

if [ -x /usr/bin/chromium ]; then
  echo "ensure-chromium: /usr/bin/chromium is present ($(/usr/bin/chromium --version 2>/dev/null | head -n 1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no apt-get on this machine; install Chromium at /usr/bin/chromium yourself to run the browser test (it is skipped meanwhile)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  SUDO="sudo -n"
else
  echo "ensure-chromium: apt-get needs root and sudo is not available without a password; run 'apt-get install -y chromium' as root (the browser test is skipped meanwhile)"
  exit 0
fi

echo "ensure-chromium: installing chromium with apt-get"
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; then
  if [ -x /usr/bin/chromium ]; then
    echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
  else
    echo "ensure-chromium: apt-get finished but /usr/bin/chromium is missing; the browser test will be skipped"
  fi
else
  echo "ensure-chromium: apt-get install chromium failed; the browser test will be skipped"
fi
exit 0
