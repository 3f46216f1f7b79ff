# deploy-action: make demo runs the whole job locally, make test runs every test.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin

.PHONY: all build test vet staticcheck unit fuzz demo bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target runs briefly on every make test; a finding is written
# to testdata/fuzz and fails the run.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime 5s ./internal/stdwebhook/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeDeployRequest$$' -fuzztime 5s ./internal/deployhook/

test: vet staticcheck unit fuzz

demo:
	$(GO) run ./cmd/demo

bench:
	bash bench/run.sh

clean:
	rm -rf $(BIN) demo-out
