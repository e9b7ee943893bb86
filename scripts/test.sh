#!/usr/bin/env bash
# Runs every test of the project: installs the Debian packages the tests need, then the .NET test
# projects of Demi.sln, then the C ABI programs in tests/c. Tests that need root (AF_XDP, network
# namespaces) run when this is run as root, as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# Namespaces or XDP programs left by a crashed earlier run must not trip this one.
scripts/clean-stale.sh || true

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Demi.sln -c Release -nologo -v q
# One test project at a time: the datapath tests pin threads and time things on a 2-core machine,
# and parallel test hosts would only make each other flaky.
failed=()
failures=$(mktemp /tmp/demi-test-failures.XXXXXX)
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  # A helper program the tests start (tests/Demi.ExitProbe) is not a test project: nothing to run.
  grep -q "Microsoft.NET.Test.Sdk" "$project" || continue
  log=/tmp/demi-test-$name.log
  echo "== $name"
  started=$(mktemp)
  set +e
  # --blame-crash: a test host that dies (an intermittent AF_XDP test-host crash has been seen twice) leaves a
  # minidump under the project's TestResults, named below, for whoever investigates.
  dotnet test "$project" -c Release --no-build --blame-hang-timeout 300s --blame-crash --blame-crash-dump-type mini --logger "console;verbosity=normal" > "$log" 2>&1
  status=$?
  set -e
  grep -E 'Total tests|Passed:|Failed:|Skipped:|^\s*Skipped ' "$log" || true
  if [[ $status -ne 0 ]]; then
    grep -B2 -A40 -E '^\s*Failed [A-Za-z]|error' "$log" | head -400 >&2 || true
    find "$(dirname "$project")/TestResults" -name "*.dmp" -newer "$started" -printf "test.sh: crash dump %p\n" 2>/dev/null >&2 || true
    echo "test.sh: $name failed (full log: $log)" >&2
    failed+=("$name")
    # Repeated at the very end: a CI system that keeps only the tail of the output still names the failing tests.
    # A crashed or hung test host has no "Failed" line: name the test it was running and the signal instead.
    { echo "== $name"; grep -A12 -E '^\s*Failed [A-Za-z]' "$log" | head -120
      grep -E 'Test Run Aborted|aborted because|The test running when|crashed|Crashing thread|signal [0-9]+' "$log" | head -12
      grep -A1 -E '^The test running when' "$log" | tail -1; } >> "$failures" || true
  fi
  rm -f "$started"
done

echo "== fuzzing: a short coverage-guided run per parser (fuzz/run.sh; fuzz/README.md has the long run)"
fuzz/run.sh "${DEMI_FUZZ_SECONDS:-5}" || failed+=("fuzz")

echo "== C ABI programs (tests/c)"
tests/c/run.sh || failed+=("tests/c")

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "== the failed tests again (details above)" >&2
  cat "$failures" >&2
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all tests passed"
