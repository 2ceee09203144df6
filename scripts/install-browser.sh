#!/usr/bin/env bash
# Installs Debian's Chromium, which scripts/dashboard-check.sh drives headless.
# Idempotent: when `chromium` is already on PATH it does nothing, asks no
# registry and prints nothing.
set -euo pipefail

command -v chromium >/dev/null 2>&1 && exit 0

echo "installing chromium" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
# Without recommends: the browser and the libraries it links against; the
# fonts it needs to draw text come with it (fonts-liberation is a dependency).
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "chromium was installed but is not on PATH" >&2; exit 1; }
