#!/usr/bin/env bash
# Builds the Kafka-protocol test cluster (librdkafka's mock cluster behind a line protocol) into
# dist/kafka-mock/mock-cluster. Idempotent: rebuilds only when the source is newer than the binary.
# Needs a C compiler and librdkafka's headers (Debian: apt-get install -y librdkafka-dev).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src="$root/test/kafka-mock/mock-cluster.c"
out_dir="$root/dist/kafka-mock"
out="$out_dir/mock-cluster"
cc="${CC:-cc}"

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "kafka-mock build: no C compiler ('$cc') found; install one (Debian: apt-get install -y gcc)" >&2
  exit 1
fi

if ! echo '#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>' | "$cc" -E -x c - >/dev/null 2>&1; then
  echo "kafka-mock build: <librdkafka/rdkafka_mock.h> not found; install librdkafka's headers (Debian: apt-get install -y librdkafka-dev)" >&2
  exit 1
fi

if [[ -x "$out" && "$out" -nt "$src" && "$out" -nt "${BASH_SOURCE[0]}" ]]; then
  exit 0
fi

mkdir -p "$out_dir"
"$cc" -O2 -Wall -Wextra -Werror -std=gnu11 -o "$out.tmp" "$src" -lrdkafka
mv -f "$out.tmp" "$out"
echo "kafka-mock build: built $out"
