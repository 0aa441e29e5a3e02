#!/usr/bin/env bash
# Prepares a fresh Debian machine to run Basket's tests: the Debian packages the tests use
# (librdkafka's mock Kafka cluster for the kafka engine, a C compiler for its launcher, chromium for
# the browser tests of event streams, haproxy for the test of deploy/'s balancer config, the lz4 and zstd tools that cross-check our
# compressed batches), then the
# npm dependencies. Safe to run again: it installs only
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(librdkafka-dev gcc libc6-dev pkg-config chromium haproxy lz4 zstd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm install, not npm ci: the lock file lists only the platform packages the registry serves for
# the zstd codec's prebuilt binaries (the others are absent there), which npm ci refuses as out
# of sync; npm install still installs exactly the locked versions.
npm install --no-audit --no-fund
