#!/usr/bin/env bash
# Installs everything berth needs to build, run and test, from Debian 12's packages.
set -euo pipefail
PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config
  libboost-dev nlohmann-json3-dev libsimdjson-dev libsqlite3-dev libssl-dev libzstd-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # run time
  runc containernetworking-plugins
  # tests and benchmarks: the real clients, and load tools
  awscli python3-boto3 python3-pytest wrk ripgrep curl sqlite3 procps openssl
  # the load balancer benchmark compares berth with these (bench/proxy_bench.py)
  nginx haproxy
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  echo "deps.sh: installing ${missing[*]}"
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  rm -f "$log"
fi
