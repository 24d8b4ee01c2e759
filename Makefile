# envector-keys: the front door. `make demo` builds and makes a demo key set in ./keys;
# `make test` runs every test.

SHELL     := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO        ?= go
BIN       := bin/envector-keygen
BENCHTIME ?= 40x
BENCHCOUNT ?= 5
FUZZTIME  ?= 60s

.PHONY: all build demo test lint gotest bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/envector-keygen

# Builds, makes the demo key set ./keys/demo (once), and proves the keys belong together.
demo: build
	@if [ -e keys/demo ]; then echo "keys/demo exists already; verifying it"; \
	else ./$(BIN) --key_path ./keys --key_id demo; fi
	./$(BIN) verify --key_path ./keys --key_id demo

test: lint gotest

lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi
	$(GO) vet ./...

gotest:
	$(GO) test -count=1 ./...

# Benchmarks, each beside its baseline in the same run; prints the ratios the README
# reports.
bench:
	mkdir -p build
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./core/ | tee build/bench.txt
	$(GO) test -run '^$$' -bench CLIGenerate -benchtime 10x ./cmd/envector-keygen/ | tee -a build/bench.txt
	@awk -f scripts/benchratio.awk build/bench.txt

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseEnvelope -fuzztime $(FUZZTIME) -parallel 1 ./core/

clean:
	rm -rf bin build
