#!/usr/bin/env bash
# Builds kestrel with its tests and runs the whole suite under ctest.
# Tests that need ../shared skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The packages of the JS client tests (tests/js/package-lock.json).
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm not found (scripts/install-deps.sh should have installed it); the tests/js client tests need it" >&2
  exit 1
fi
(cd tests/js && npm ci --no-audit --no-fund)
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DKESTREL_TESTS=ON >/dev/null
cmake --build build-test -j"$(nproc)"
cd build-test
ctest --output-on-failure -j"$(nproc)" --timeout 600
