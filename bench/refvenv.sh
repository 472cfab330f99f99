#!/usr/bin/env bash
# Makes sure the reference venv $AUTOGLM_HOME/refvenv exists with llama-cpp-python (llama.cpp,
# the reference engine), gguf and numpy at the versions below, and prints its python on stdout.
# The first run compiles llama.cpp from source: 15-30 minutes on 2 cores. Progress goes to stderr.
# Used by scripts/make_goldens.sh, bench/make_synthetic.sh and bench/compare.
set -euo pipefail

AUTOGLM_HOME="${AUTOGLM_HOME:-$HOME/.cache/autoglm}"
venv="$AUTOGLM_HOME/refvenv"
# tests/reference/goldens record the llama-cpp-python version; bump both together.
readonly LLAMA_CPP_PYTHON_VERSION=0.3.36
readonly GGUF_VERSION=0.19.0

log() { echo "[refvenv] $*" >&2; }
has_version() {  # has_version DISTRIBUTION VERSION
  "$venv/bin/python3" -c "import sys, importlib.metadata as m; sys.exit(m.version('$1') != '$2')" \
    2>/dev/null
}

if [[ ! -x "$venv/bin/python3" ]]; then
  log "creating venv $venv"
  python3 -m venv "$venv" >&2
fi
if ! has_version llama_cpp_python "$LLAMA_CPP_PYTHON_VERSION"; then
  log "installing llama-cpp-python $LLAMA_CPP_PYTHON_VERSION into $venv (builds llama.cpp from source)"
  # ggml's AMX matmul segfaults (ldtilecfg) on some AMX-capable VMs; the AVX-512 path gives the
  # same results. --no-cache-dir: never reuse a wheel built with other flags.
  CMAKE_ARGS="-DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' \
-DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' ${CMAKE_ARGS:-}" \
    CMAKE_BUILD_PARALLEL_LEVEL="${JOBS:-2}" \
    "$venv/bin/python3" -m pip install --no-cache-dir "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2
fi
if ! has_version gguf "$GGUF_VERSION" || ! "$venv/bin/python3" -c 'import numpy' 2>/dev/null; then
  log "installing gguf $GGUF_VERSION and numpy into $venv"
  "$venv/bin/python3" -m pip install "gguf==$GGUF_VERSION" numpy >&2
fi
echo "$venv/bin/python3"
