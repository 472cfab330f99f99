#!/usr/bin/env bash
# Install the Debian 12 packages needed to build, test and benchmark Open-AutoGLM.
# Idempotent: apt is only touched when a package is missing.
set -euo pipefail

readonly PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  python3 python3-pip python3-venv
  libcli11-dev nlohmann-json3-dev libpcre2-dev
  libgtest-dev googletest libbenchmark-dev
  clang-format unzip ca-certificates ccache
  libcpp-httplib-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
)

log() { echo "[install_deps] $*"; }
die() { echo "[install_deps] error: $*" >&2; exit 1; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  log "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found; install manually: ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || die "not root and sudo is unavailable; as root run: apt-get install ${missing[*]}"
  sudo=(sudo)
fi

apt_log="$(mktemp)"
trap 'rm -f "$apt_log"' EXIT
run_apt() {
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@" >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    die "apt-get $1 failed"
  fi
}

log "missing: ${missing[*]}"
log "apt-get update"
run_apt update
log "apt-get install (${#missing[@]} packages)"
run_apt install -y --no-install-recommends "${missing[@]}"
log "done"
