# Sourced by the other scripts: makes sure .venv exists with openmaker installed (editable) and the
# extras given in $1. uv keeps a shared cache, so a fresh clone re-creates the environment in seconds.
set -euo pipefail
extras="${1:-}"
if [ ! -x .venv/bin/uv ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check uv
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
.venv/bin/uv pip install --quiet --python .venv/bin/python -e "$spec"
