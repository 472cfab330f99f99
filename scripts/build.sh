#!/usr/bin/env bash
# Configure and build with a CMake preset (default: release -> build/, CLI at build/bin/autoglm).
# JOBS sets the parallelism (default 2).
set -euo pipefail

preset="${1:-release}"
jobs="${JOBS:-2}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "[build] configure (preset $preset)"
cmake --preset "$preset"
echo "[build] build (preset $preset, $jobs jobs)"
cmake --build --preset "$preset" -j "$jobs"
