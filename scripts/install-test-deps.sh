#!/usr/bin/env bash
# Installs what the proxy's integration tests and benchmark drive it with:
# the official OpenAI Python SDK, curl and wrk. Idempotent: asks no registry
# when everything is present.
set -euo pipefail

missing=()
for tool in curl wrk; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import openai, sys; sys.exit(0 if int(openai.__version__.split(".")[0]) >= 1 else 1)' 2>/dev/null; then
  echo "installing the openai Python SDK" >&2
  python3 -m pip install --quiet --disable-pip-version-check "openai>=1.40,<3" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "openai>=1.40,<3"
fi
