#!/usr/bin/env bash
# Runs the benchmarks of bench/ in one run, so that each figure has its peer
# measured on the same machine at the same time. Needs moto_server and aws.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-5x}" -timeout 30m ./bench/ | tee "${OUT:-/dev/stderr}"
