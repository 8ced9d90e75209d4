#!/usr/bin/env bash
# Installs Debian's chromium (for the Web UI test) when /usr/bin/chromium is missing. Needs root or sudo.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing Debian's chromium for the Web UI test" >&2
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
