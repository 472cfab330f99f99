#!/usr/bin/env bash
# From a fresh Debian 12 checkout to generated text: deps, release build, model, first run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install_deps.sh
bash scripts/build.sh release
bash scripts/fetch_model.sh

echo "[quickstart] build/bin/autoglm run -p \"The capital of France is\" -n 32"
build/bin/autoglm run -p "The capital of France is" -n 32
