#!/usr/bin/env bash
# Builds berth's libFuzzer targets with clang and runs each for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
if ! command -v clang++ >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev libsimdjson-dev >/dev/null
fi
out=$(mktemp -d)
flags=(-std=c++20 -O1 -g -march=x86-64-v3 -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Isrc)
clang++ "${flags[@]}" tests/fuzz/filter_pattern_fuzz.cc src/logs/filter_pattern.cc -lsimdjson \
  -o "$out/filter_pattern_fuzz"
mkdir -p "$out/corpus"
"$out/filter_pattern_fuzz" -max_total_time="$SECONDS_PER_TARGET" "$out/corpus"
echo "fuzz: filter_pattern ran ${SECONDS_PER_TARGET}s without a finding"
