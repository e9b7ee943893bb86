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
set +e
dotnet test Demi.sln -c Release --logger "console;verbosity=normal" > /tmp/demi-test.log 2>&1
status=$?
set -e
grep -E '^\s*(Passed|Failed|Skipped) |Total tests|Passed:|Failed:|Skipped:| error |\[FAIL\]' /tmp/demi-test.log || true
if [[ $status -ne 0 ]]; then
  grep -A40 -E '^\s*Failed [A-Za-z]' /tmp/demi-test.log | head -400 >&2 || true
  echo "test.sh: dotnet test failed (full log: /tmp/demi-test.log)" >&2
  exit "$status"
fi

if [[ -x tests/c/run.sh ]]; then
  tests/c/run.sh
fi
echo "test.sh: all tests passed"
