#!/usr/bin/env bash
# Cross-build the core and CPU kernels for aarch64 and run their op tests under qemu-user, so
# the NEON kernels (and sdot: qemu's default CPU "max" has dotprod) are tested on an x86 host.
# Installs g++-aarch64-linux-gnu, qemu-user and googletest (source) when missing; idempotent.
# Usage: scripts/test_arm.sh [build dir, default build-aarch64]   Env: JOBS (default nproc).
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly BUILD="${1:-$ROOT/build-aarch64}"
readonly JOBS="${JOBS:-$(nproc)}"
readonly PACKAGES=(g++-aarch64-linux-gnu qemu-user googletest cmake ninja-build)

log() { echo "[test_arm] $*"; }
die() { echo "[test_arm] error: $*" >&2; exit 1; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null || die "apt-get not found; install manually: ${missing[*]}"
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null ||
      die "not root and sudo is unavailable; as root run: apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  log "installing: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
    install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "configure $BUILD"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAUTOGLM_WERROR=ON \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/aarch64-linux-gnu.cmake" -DAUTOGLM_KERNELS_ONLY=ON >/dev/null
log "build (jobs: $JOBS)"
cmake --build "$BUILD" -j "$JOBS"

# The kernels' own detection under qemu decides, not an override meant for the host.
unset AUTOGLM_CPU_ISA
cd "$BUILD"
# A level the emulated CPU lacked would only be skipped: insist that NEON with sdot really ran.
if qemu-aarch64 -L /usr/aarch64-linux-gnu bin/cpu_kernels_test \
  --gtest_filter='*MatmulTest*neon_dotprod*' | grep -q SKIPPED; then
  die "the emulated CPU lacks NEON dotprod; the sdot kernels were not tested"
fi
log "ctest"
# x86 levels would only start qemu to be skipped.
ctest -j "$JOBS" --output-on-failure --exclude-regex '/avx'
