#!/usr/bin/env bash
# Runs the benchmarks of bench/ in one run, so that each figure has its peer
# measured on the same machine at the same time. Needs moto_server, aws,
# docker-registry and skopeo (apt-get install docker-registry skopeo); builds
# crane from go-containerregistry at the version in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
ggcr="$(go list -m -f '{{.Version}}' github.com/google/go-containerregistry)"
GOFLAGS=-mod=mod GOBIN="$bin" go install "github.com/google/go-containerregistry/cmd/crane@$ggcr"
export CRANE="$bin/crane"
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-5x}" -timeout 60m ./bench/ | tee "${OUT:-/dev/null}"
