#!/usr/bin/env bash
# Builds berth's libFuzzer targets with clang and runs each for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
#   FUZZ_RUNS=N scripts/fuzz.sh            (N inputs each from seed 1: repeatable, for tests)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
if ! command -v clang++ >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev libsimdjson-dev >/dev/null
fi
out=$(mktemp -d)
flags=(-std=c++20 -O1 -g -march=x86-64-v3 -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Isrc)
if ! dpkg -s libzstd-dev libboost-dev >/dev/null 2>&1; then
  apt-get install -y -qq libzstd-dev libboost-dev >/dev/null
fi
# logs: filter patterns (and MayMatch's soundness on clusters), the segment and block reader.
clang++ "${flags[@]}" -mpclmul tests/fuzz/filter_pattern_fuzz.cc src/logs/filter_pattern.cc \
  src/logs/block_clusters.cc src/logs/flat_object.cc src/logs/trigram_bitmap.cc \
  src/core/worker_thread.cc -pthread -lsimdjson -o "$out/filter_pattern_fuzz"
clang++ "${flags[@]}" -mpclmul tests/fuzz/segment_fuzz.cc src/logs/segment.cc \
  src/logs/block_clusters.cc src/logs/flat_object.cc src/logs/trigram_bitmap.cc \
  src/core/worker_thread.cc -pthread -lsimdjson -lzstd -o "$out/segment_fuzz"
# PutLogEvents' own JSON readers: message unescaping and flat-object scanning.
clang++ "${flags[@]}" -mpclmul tests/fuzz/json_text_fuzz.cc src/core/json_unescape.cc \
  src/logs/flat_object.cc -lsimdjson -o "$out/json_text_fuzz"
# elb proxy: request-head parsing, rule matching, head rewriting, chunked framing.
clang++ "${flags[@]}" tests/fuzz/proxy_parse_fuzz.cc src/elb/proxy/http_parse.cc \
  src/elb/proxy/head_rewrite.cc src/elb/proxy/rule_match.cc src/elb/proxy/sticky.cc src/core/text.cc \
  -o "$out/proxy_parse_fuzz"
# kms: ciphertext blob parsing, authentication and round trips.
clang++ "${flags[@]}" tests/fuzz/kms_blob_fuzz.cc src/kms/crypto.cc src/core/hex.cc \
  src/core/id.cc src/core/arn.cc -lcrypto -lfmt -o "$out/kms_blob_fuzz"
for target in filter_pattern_fuzz segment_fuzz json_text_fuzz proxy_parse_fuzz kms_blob_fuzz; do
  mkdir -p "$out/corpus-$target"
  # Inputs that once found a bug are run every time (tests/fuzz/corpus/TARGET/).
  if [[ -d "tests/fuzz/corpus/$target" ]]; then
    cp tests/fuzz/corpus/"$target"/* "$out/corpus-$target/"
  fi
  if [[ -n "${FUZZ_RUNS:-}" ]]; then
    # Repeatable (scripts/test.sh): the same seed and number of inputs every time, so a test
    # run never fails on a new random find; longer runs without it explore further.
    "$out/$target" -seed=1 -runs="$FUZZ_RUNS" "$out/corpus-$target"
    echo "fuzz: $target ran $FUZZ_RUNS inputs (seed 1) without a finding"
  else
    "$out/$target" -max_total_time="$SECONDS_PER_TARGET" "$out/corpus-$target"
    echo "fuzz: $target ran ${SECONDS_PER_TARGET}s without a finding"
  fi
done
rm -rf "$out" /tmp/segfuzz-*
