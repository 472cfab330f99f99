#!/usr/bin/env bash
# Writes the synthetic benchmark models (see bench/make_synthetic.py) with the reference venv's
# gguf package. Arguments go to make_synthetic.py.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$(bash "$here/refvenv.sh")"
exec "$python" "$here/make_synthetic.py" "$@"
