#!/usr/bin/env bash
# From a fresh Debian 12 checkout to a running server: deps, release build, model, then
# `autoglm serve` on http://127.0.0.1:8080 (it prints ready-to-paste curl and openai examples;
# Ctrl-C drains and stops it). Extra arguments go to `autoglm serve`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install_deps.sh
bash scripts/build.sh release
bash scripts/fetch_model.sh

echo "[quickstart] build/bin/autoglm run -p \"The capital of France is\" -n 16 --temp 0"
build/bin/autoglm run -p "The capital of France is" -n 16 --temp 0
echo "[quickstart] build/bin/autoglm serve $*"
exec build/bin/autoglm serve "$@"
