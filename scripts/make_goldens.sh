#!/usr/bin/env bash
# Regenerate tests/reference/goldens/ with llama.cpp (via llama-cpp-python).
# Uses the venv made by bench/refvenv.sh ($AUTOGLM_HOME/refvenv; the first run compiles
# llama-cpp-python from source: ~15-30 min on 2 cores). Extra arguments go to
# tests/reference/make_goldens.py.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="$(bash bench/refvenv.sh)"
bash scripts/fetch_model.sh
"$python" tests/reference/make_goldens.py "$@"
