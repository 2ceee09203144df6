#!/usr/bin/env bash
# Installs what the proxy's integration tests and benchmark drive it with:
# the official OpenAI and Anthropic Python SDKs, LangChain's OpenAI and
# Anthropic chat models, curl and wrk. Idempotent: asks no registry when
# everything is present, and prints nothing then.
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

# The Python packages, pinned to the major versions the checks are written
# against. One interpreter imports them all (the imports are what cost time)
# and names the ones that do not import or are out of range.
requirements=(
  "openai>=1.40,<3"
  "anthropic>=0.40,<3"
  "langchain-core>=1,<2"
  "langchain-openai>=1,<2"
  "langchain-anthropic>=1,<2"
)
absent="$(python3 - <<'EOF' 2>/dev/null || echo "python3 failed"
import importlib

# module, distribution, lowest and highest-plus-one major version
wanted = [
    ("openai", "openai", 1, 3),
    ("anthropic", "anthropic", 0, 3),
    ("langchain_core", "langchain-core", 1, 2),
    ("langchain_openai", "langchain-openai", 1, 2),
    ("langchain_anthropic", "langchain-anthropic", 1, 2),
]
absent = []
for module, distribution, low, high in wanted:
    try:
        importlib.import_module(module)
        from importlib.metadata import version
        major = int(version(distribution).split(".")[0])
        if not low <= major < high:
            absent.append(distribution)
    except Exception:
        absent.append(distribution)
print(" ".join(absent))
EOF
)"
if [ -n "$absent" ]; then
  echo "installing the Python packages the checks use ($absent)" >&2
  # All pins at once, so that none is moved out of its range by another's needs.
  pip=(python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore)
  "${pip[@]}" "${requirements[@]}" 2>/dev/null \
    || "${pip[@]}" --break-system-packages "${requirements[@]}"
fi
