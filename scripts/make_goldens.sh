#!/usr/bin/env bash
# Regenerate tests/reference/goldens/ with llama.cpp (via llama-cpp-python).
# Uses the venv $AUTOGLM_HOME/refvenv, creating it and installing
# llama-cpp-python (compiled from source: ~15-30 min on 2 cores), gguf and numpy
# from PyPI when missing. Extra arguments go to tests/reference/make_goldens.py.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
AUTOGLM_HOME="${AUTOGLM_HOME:-$HOME/.cache/autoglm}"
venv="$AUTOGLM_HOME/refvenv"
# The goldens record this version; bump both together.
readonly LLAMA_CPP_PYTHON_VERSION=0.3.36

log() { echo "[make_goldens] $*"; }

if [[ ! -x "$venv/bin/python3" ]]; then
  log "creating venv $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python3" -c 'import llama_cpp, gguf, numpy' 2>/dev/null; then
  log "installing llama-cpp-python gguf numpy into $venv (builds llama.cpp from source)"
  # ggml's AMX matmul segfaults (ldtilecfg) on some AMX-capable VMs; the AVX-512
  # path gives the same reference results. --no-cache-dir: never reuse a wheel
  # built with other flags.
  CMAKE_ARGS="-DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' \
-DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' ${CMAKE_ARGS:-}" \
    CMAKE_BUILD_PARALLEL_LEVEL="${JOBS:-2}" \
    "$venv/bin/python3" -m pip install --no-cache-dir "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" gguf numpy
fi

bash scripts/fetch_model.sh
"$venv/bin/python3" tests/reference/make_goldens.py "$@"
