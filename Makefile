# deploy-action: make demo runs the whole job locally, make test runs every test.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin

.PHONY: all build deps evaluator test-deps test vet staticcheck actionlint unit unit-fast fuzz demo bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...
	$(GO) vet -tags awslive ./internal/livetest/

staticcheck:
	$(GO) tool staticcheck ./...

# Every wire test is judged (internal/testbed/awsjudge); what the judges
# judged is summed at the end. The timeout is set on purpose: under -race
# on a loaded 2-core machine internal/bootstrap's wire tests take about 7
# minutes (each apply is planned first and held to the plan, and every
# request is judged by the IAM evaluator), too near go test's default 10.
unit:
	@stats=$$(mktemp -d) && TESTBED_JUDGE_STATS=$$stats $(GO) test -race -count=1 -timeout 25m ./... ; status=$$?; \
		$(GO) run ./internal/testbed/judgestats $$stats; rm -rf $$stats; exit $$status

# The fast layer: every test that needs no server (pure decisions, parsing,
# judging, summaries, the hook's routing on a fake runner), in seconds, with
# no moto, registry or simulator; the over-the-wire tests skip themselves.
unit-fast: evaluator
	$(GO) test -short -count=1 ./...

# Each fuzz target runs briefly on every make test; a finding is written
# to testdata/fuzz and fails the run. Budgets are counts, not durations: a
# duration races Go 1.26's fuzz coordinator at its deadline and fails with
# "context deadline exceeded" on a loaded machine (golang/go#75804).
FUZZ_EXECS ?= 30000x
# The routing target serves a signed delivery through the whole handler
# and its queue per execution: a tenth of the others' rate.
FUZZ_ROUTING_EXECS ?= 8000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZ_EXECS) ./internal/stdwebhook/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeDeployRequest$$' -fuzztime $(FUZZ_EXECS) ./internal/deployhook/
	$(GO) test -run '^$$' -fuzz '^FuzzGitHubRoute$$' -fuzztime $(FUZZ_EXECS) ./internal/deployhook/
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZ_EXECS) ./internal/deployhook/
	$(GO) test -run '^$$' -fuzz '^FuzzWorkflowRunRouting$$' -fuzztime $(FUZZ_ROUTING_EXECS) ./internal/deployhook/
	$(GO) test -run '^$$' -fuzz '^FuzzHookAnswer$$' -fuzztime $(FUZZ_EXECS) ./internal/action/

# actionlint over every workflow, then again over copies in which
# autonote/deploy-action@v1 points at this checkout's action.yml, so the
# inputs AutoNote's workflows pass are checked against what the action declares.
actionlint:
	$(GO) build -o $(BIN)/actionlint github.com/rhysd/actionlint/cmd/actionlint
	$(BIN)/actionlint
	tmp=$$(mktemp -d) && mkdir -p $$tmp/.github/workflows && cp action.yml Dockerfile $$tmp/ && \
	for f in .github/workflows/*.yml; do sed 's#uses: autonote/deploy-action@v1#uses: ./#' $$f > $$tmp/$$f; done && \
	(cd $$tmp && git init -q . && $(CURDIR)/$(BIN)/actionlint); status=$$?; rm -rf $$tmp; exit $$status

# The test bed's parts: moto_server (pip install 'moto[server]==5.2.1') and
# Debian's docker-registry, installed here when missing and allowed.
# The aws CLI is only the tests' independent check of what the bootstrap
# made: test needs it, demo does not.
deps:
	@command -v moto_server >/dev/null || { echo "moto_server is missing: pip install 'moto[server]==5.2.1'" >&2; exit 1; }
	@command -v docker-registry >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			DEBIAN_FRONTEND=noninteractive apt-get update -q && apt-get install -y -q --no-install-recommends docker-registry; \
		else echo "docker-registry is missing: sudo apt-get install docker-registry" >&2; exit 1; fi; }

# The test bed judges every request as AWS would: AWS's request rules from
# the aws CLI's own service models (botocore), and IAM with a maintained
# evaluator, @cloud-copilot/iam-simulate under node, installed here at the
# versions internal/testbed/iamsim/js/package-lock.json pins.
evaluator:
	@command -v node >/dev/null || { echo "node is missing: apt-get install nodejs npm" >&2; exit 1; }
	@test -d internal/testbed/iamsim/js/node_modules/@cloud-copilot/iam-simulate || \
		npm ci --prefix internal/testbed/iamsim/js --no-audit --no-fund --loglevel=error

test-deps: deps evaluator
	@command -v aws >/dev/null || { echo "the aws CLI is missing: pip install awscli" >&2; exit 1; }

test: test-deps vet staticcheck actionlint unit fuzz

demo: deps
	$(GO) run ./cmd/demo

bench:
	bash bench/run.sh

clean:
	rm -rf $(BIN) demo-out
