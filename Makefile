# aquahub: `make run` starts the sandbox, `make test` runs the whole suite. Nothing else is
# needed first: Go fetches modules, connectors are built for wasip1 here, and node/npm for
# the vendor-client tests are installed when missing (scripts/ensure-node.sh).
GO      ?= go
BIN     := bin/aquahub
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build connectors node run test check bench fuzz clean

all: build

build: connectors
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/aquahub

# Builds every connectors/<name>/ guest to build/connectors/<name>.wasm (GOOS=wasip1).
connectors:
	@if [ -x scripts/build-connectors.sh ]; then scripts/build-connectors.sh build/connectors; fi

# Node.js and npm for the tests that run the vendors' own Node clients against the
# simulators; they install their pinned packages once per lock file.
node:
	@scripts/ensure-node.sh

run: build
	./$(BIN) dev

test: connectors node
	$(GO) test -count=1 -timeout 15m ./...

# The gate before merging: formatting, vet (on the host, and the guest side as wasip1, where
# the connectors run), staticcheck, the race detector, tidy modules.
check: connectors node
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./connectors/... ./sdk/...
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$$( $(GO) env GOPATH )/bin/staticcheck ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

# Every figure the README's Performance section shows, then the Go benchmarks.
bench: build
	./$(BIN) bench ingest
	./$(BIN) bench pipeline
	./$(BIN) bench plugins
	./$(BIN) bench webhooks
	./$(BIN) bench content
	./$(BIN) bench isolation
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/storage/bolt/ ./plugins/ ./internal/content/

# Runs each fuzz target briefly; seeds and crashers live in testdata/fuzz.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeEvent -fuzztime 30s ./core/
	$(GO) test -run '^$$' -fuzz FuzzParseRules -fuzztime 30s ./rules/

clean:
	rm -rf bin build
