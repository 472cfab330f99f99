#!/usr/bin/env bash
# Full verification as CI runs it: deps, model, warnings-as-errors build + all tests,
# then an AddressSanitizer/UBSan build of a few targets and the tests labelled "asan".
# Exits non-zero if any stage fails. JOBS sets build parallelism (default 2).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
jobs="${JOBS:-2}"
# The ASan build is slow; only these targets are built for it.
ASAN_TARGETS="${ASAN_TARGETS:-autoglm gguf_test bad_input_test}"
# Per-test limit (seconds) for tests without a TIMEOUT property: a hang fails
# that test instead of eating CI's whole time budget.
TEST_TIMEOUT="${TEST_TIMEOUT:-900}"

names=()
results=()
times=()

# run_stage NAME CMD...: runs CMD, records PASS/FAIL and its duration.
run_stage() {
  local name="$1"
  shift
  echo
  echo "==== [test] $name ===="
  local start=$SECONDS rc=0
  "$@" || rc=$?
  names+=("$name")
  times+=("$((SECONDS - start))s")
  if ((rc == 0)); then
    results+=("PASS")
  else
    results+=("FAIL (exit $rc)")
    echo "==== [test] $name failed (exit $rc) ===="
  fi
  return "$rc"
}

skip_stage() {
  names+=("$1")
  results+=("SKIP ($2)")
  times+=("-")
}

ctest_all() {
  ctest --test-dir build --output-on-failure --no-tests=error --timeout "$TEST_TIMEOUT" -j "$jobs"
}

# Each command is checked explicitly: errexit does not apply inside a function
# whose status is tested.
asan_build() {
  local targets
  read -r -a targets <<<"$ASAN_TARGETS"
  cmake --preset asan || return 1
  cmake --build --preset asan -j "$jobs" --target "${targets[@]}" || return 1
}

asan_ctest() {
  ctest --test-dir build-asan -L asan --output-on-failure --no-tests=error --timeout "$TEST_TIMEOUT"
}

summary() {
  echo
  echo "==== [test] summary ===="
  local i
  for i in "${!names[@]}"; do
    printf '  %-22s %-16s %s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
  done
}

failed=0
if ! run_stage "install deps" bash scripts/install_deps.sh; then
  summary
  exit 1
fi
run_stage "fetch model" bash scripts/fetch_model.sh || failed=1
if run_stage "build (ci)" bash scripts/build.sh ci; then
  run_stage "ctest" ctest_all || failed=1
  run_stage "e2e (real clients)" bash scripts/e2e.sh build/bin/autoglm || failed=1
else
  failed=1
  skip_stage "ctest" "build failed"
  skip_stage "e2e (real clients)" "build failed"
fi
if run_stage "asan build" asan_build; then
  run_stage "asan ctest" asan_ctest || failed=1
else
  failed=1
  skip_stage "asan ctest" "build failed"
fi

summary
if ((failed)); then
  echo "[test] FAILED"
  exit 1
fi
echo "[test] all stages passed"
