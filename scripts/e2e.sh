#!/usr/bin/env bash
# End-to-end tests of `autoglm serve` with the real clients (openai, tritonclient[http],
# prometheus_client) from PyPI, on the default model.
#
#   scripts/e2e.sh build/bin/autoglm [pytest args...]
#
# Builds nothing. Creates (or reuses) a venv at $AUTOGLM_HOME/e2evenv (default
# ~/.cache/autoglm/e2evenv) with the pinned tests/e2e/requirements.txt, starts the server on a
# free port with an API key, runs pytest on tests/e2e and exits with pytest's status.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
if (($# < 1)) || [[ ! -x "$1" ]]; then
  echo "usage: scripts/e2e.sh path/to/autoglm [pytest args...]  (build it first: scripts/build.sh)" >&2
  exit 2
fi
bin="$(realpath "$1")"
shift
home="${AUTOGLM_HOME:-$HOME/.cache/autoglm}"
venv="$home/e2evenv"
model="$home/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ ! -f "$model" ]]; then
  echo "e2e: the default model is not at $model; fetch it with scripts/fetch_model.sh" >&2
  exit 2
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "e2e: creating $venv"
  python3 -m venv "$venv" || exit 1
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt || {
  echo "e2e: pip install failed" >&2
  exit 1
}

log="$(mktemp)"
key="e2e-$RANDOM$RANDOM"
AUTOGLM_API_KEY="$key" "$bin" serve -m "$model" --port 0 --max-tokens-limit 1024 2>"$log" &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT

port=""
for _ in $(seq 1 600); do
  port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | head -1)"
  [[ -n "$port" ]] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "e2e: the server exited before listening:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "e2e: the server did not start listening within 60 s:" >&2
  cat "$log" >&2
  exit 1
fi

AUTOGLM_E2E_URL="http://127.0.0.1:$port" AUTOGLM_E2E_KEY="$key" AUTOGLM_E2E_BIN="$bin" \
  AUTOGLM_E2E_MODEL="$model" \
  "$venv/bin/python" -m pytest tests/e2e -q -p no:cacheprovider "$@"
rc=$?
if ((rc != 0)); then
  echo "e2e: server log (last 40 lines):" >&2
  tail -n 40 "$log" >&2
fi
exit "$rc"
