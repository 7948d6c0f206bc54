#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: GoogleTest unit tests (ctest), then the
# integration tests (pytest) that drive a real berth server with the aws CLIs and boto3, then
# each libFuzzer target for a few seconds.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 120)
# Debian's python has pytest and boto3 1.26; the machine's pip python and CLI v1 are found by
# the tests themselves on PATH.
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
# The libFuzzer targets, briefly and repeatably (fixed seed and input count): keeps them
# building and their checks passing as the code moves; scripts/fuzz.sh alone explores longer.
FUZZ_RUNS=50000 scripts/fuzz.sh
