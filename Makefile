# envector-keys: the front door. `make demo` builds and makes a demo key set in ./keys;
# `make test` runs every test.

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO          ?= go
PYTHON      ?= python3
BIN         := bin/envector-keygen
KEYSERVER   := bin/envector-keyserver
CMAKE_DIR   := build/cmake
VENV        := build/venv
MOTO        := $(VENV)/bin/moto_server
PYENVECTOR  := 1.6.3
COMPAT_VENV := build/compat-venv
COMPAT_DEPS := $(COMPAT_VENV)/.pyenvector-$(PYENVECTOR)
PREFIX      ?= /usr/local
BENCHTIME   ?= 10x
BENCHCOUNT  ?= 3
FUZZTIME    ?= 60s

.PHONY: all build bin lib demo deps compat-deps test lint gotest ctest pytest nodetest compat bench fuzz install clean proto

all: build

build: bin lib

bin:
	$(GO) build -o $(BIN) ./cmd/envector-keygen
	$(GO) build -o $(KEYSERVER) ./cmd/envector-keyserver

# The Go code of proto/endpoint/v2/endpoint.proto (enVector's key endpoint) in
# internal/endpointpb, with pinned generators: protoc from Debian's protobuf-compiler
# $(PROTOC_VERSION), protoc-gen-go and protoc-gen-go-grpc installed into build/tools. The
# generated files are checked in: builds never need protoc.
PROTOC_VERSION     := 3.21.12
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
GO_MODULE          := github.com/envector-keys/envector-keys

proto:
	@command -v protoc >/dev/null || { echo "proto: protoc is not installed; install Debian's protobuf-compiler $(PROTOC_VERSION): sudo apt-get install protobuf-compiler" >&2; exit 1; }
	@v=$$(protoc --version); [ "$$v" = "libprotoc $(PROTOC_VERSION)" ] || { echo "proto: protoc is '$$v'; the generated code is pinned to libprotoc $(PROTOC_VERSION) (Debian bookworm's protobuf-compiler)" >&2; exit 1; }
	GOBIN=$(CURDIR)/build/tools $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(CURDIR)/build/tools $(GO) install $(PROTOC_GEN_GO_GRPC)
	protoc -I proto \
	  --plugin=protoc-gen-go=build/tools/protoc-gen-go --go_out=. --go_opt=module=$(GO_MODULE) \
	  --plugin=protoc-gen-go-grpc=build/tools/protoc-gen-go-grpc --go-grpc_out=. --go-grpc_opt=module=$(GO_MODULE) \
	  endpoint/v2/endpoint.proto

# libenvector.so.0 (go build -buildmode=c-shared, through CMake) in build/cmake/lib.
lib: $(CMAKE_DIR)/build.ninja
	cmake --build $(CMAKE_DIR) --target envector_go

$(CMAKE_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(CMAKE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Builds, makes the demo key set ./keys/demo (once), and proves the keys belong together.
demo: bin
	@if [ -e keys/demo ]; then echo "keys/demo exists already; verifying it"; \
	else ./$(BIN) --key_path ./keys --key_id demo; fi
	./$(BIN) verify --key_path ./keys --key_id demo

# What the tests need beyond the toolchain: moto (a local S3 and Secrets Manager, from
# PyPI) in build/venv.
deps: $(MOTO)

$(MOTO):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]>=5.1.14'

# What the compatibility suite needs, from PyPI: build/compat-venv with pyenvector (enVector's
# SDK; wheels for CPython 3.9-3.13 on x86-64 Linux), pytest, setuptools and wheel (to build
# our wheel) and pip 22.3+ (--python); pyenvector's wheels stay in build/compat-wheels for
# the test that installs both SDKs into a new venv. Fails when pyenvector cannot be
# installed or imported (evi warns about RLIMIT_MEMLOCK on stderr: harmless).
compat-deps: $(COMPAT_DEPS)

# Made again when the venv's python or pyenvector's wheel has gone missing since.
$(COMPAT_DEPS): $(if $(wildcard $(COMPAT_VENV)/bin/python),,FORCE) \
                $(if $(wildcard build/compat-wheels/pyenvector-$(PYENVECTOR)-*.whl),,FORCE)
	rm -rf $(COMPAT_VENV) build/compat-wheels
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/pip download --quiet --disable-pip-version-check --dest build/compat-wheels 'pyenvector==$(PYENVECTOR)'
	$(COMPAT_VENV)/bin/pip install --quiet --disable-pip-version-check --no-index --find-links build/compat-wheels 'pyenvector==$(PYENVECTOR)'
	$(COMPAT_VENV)/bin/pip install --quiet --disable-pip-version-check 'pip>=22.3' 'pytest>=7' 'setuptools>=70.1' wheel
	$(COMPAT_VENV)/bin/python -c 'import evi, pyenvector.crypto.key_manager, pyenvector.utils.aes'
	touch $@

test: lint gotest ctest pytest nodetest compat

lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi
	$(GO) vet ./...

gotest: deps
	$(GO) test -count=1 ./...

# The C ABI: GoogleTest suites (local and AWS against moto), the C11 header check,
# exported symbols, leak checks, the example, and an install consumed from outside.
ctest: deps $(CMAKE_DIR)/build.ninja
	cmake --build $(CMAKE_DIR)
	ctest --test-dir $(CMAKE_DIR) --output-on-failure -j2 --no-tests=error

# The Python binding: pytest (into build/venv) over bindings/python/tests, which also
# pip-installs the package into a new virtual environment and runs its example there;
# its init tests run bin/envector-keyserver.
pytest: deps lib bin
	bindings/python/scripts/check

# The Node binding: npm install in bindings/node (koffi; the library from the CMake
# build), then its node:test suite, which also packs and installs it into a new project;
# its init tests run bin/envector-keyserver.
nodetest: deps lib bin
	npm --prefix bindings/node run check

# Compatibility with enVector's SDK (pyenvector $(PYENVECTOR), tests/compat): each reads the
# other's key files, plain and sealed; metadata both ways; edited files refused by both;
# both console scripts in one venv. Fails when a test fails or none ran (pytest's 5).
compat: compat-deps build
	@status=0; PYTHONPATH=$(CURDIR)/bindings/python $(COMPAT_VENV)/bin/python -m pytest tests/compat \
	  -p no:cacheprovider -q $(COMPAT_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "compat: no test ran: that is a failure" >&2; exit 1; fi; exit $$status

FORCE:

install: lib
	cmake --install $(CMAKE_DIR) --prefix $(PREFIX)

# Benchmarks, each beside its baseline in the same run; prints the ratios the README
# reports.
bench: deps $(CMAKE_DIR)/build.ninja
	mkdir -p build
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./core/ | tee build/bench.txt
	$(GO) test -run '^$$' -bench AWSDefault -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./core/store/ | tee -a build/bench.txt
	$(GO) test -run '^$$' -bench '^BenchmarkKeygen$$' -benchtime 10x -count 3 ./capi/ | tee -a build/bench.txt
	$(GO) test -run '^$$' -bench CLIGenerate -benchtime 3x ./cmd/envector-keygen/ | tee -a build/bench.txt
	@awk -f scripts/benchratio.awk build/bench.txt
	@# Key generation through the library from non-Go hosts, against the Go API
	@# (internal/benchbase) in alternating blocks; the library runs at GOGC 200
	@# (capi/gc.go), so each is also compared with the Go API at GOGC 200.
	cmake --build $(CMAKE_DIR) --target envector_go keygen_c_host
	$(GO) build -o build/benchbase ./internal/benchbase
	$(PYTHON) scripts/bench_interleave.py --label "C ABI keygen from a C program vs Go API" \
	  $(CMAKE_DIR)/bench/keygen_c_host -- build/benchbase | tee -a build/bench.txt
	$(PYTHON) scripts/bench_interleave.py --label "C ABI keygen from a C program vs Go API" \
	  --baseline-env GOGC=200 $(CMAKE_DIR)/bench/keygen_c_host -- build/benchbase | tee -a build/bench.txt
	PYTHONPATH=bindings/python $(VENV)/bin/python bindings/python/bench/bench_stream.py --blocks 4 --block 5 | tee -a build/bench.txt
	PYTHONPATH=bindings/python $(VENV)/bin/python bindings/python/bench/bench_stream.py --blocks 4 --block 5 --baseline-gogc 200 | tee -a build/bench.txt
	npm --prefix bindings/node install --no-audit --no-fund --silent
	node bindings/node/bench/bench_stream.js --blocks 4 --block 5 | tee -a build/bench.txt
	node bindings/node/bench/bench_stream.js --blocks 4 --block 5 --baseline-gogc 200 | tee -a build/bench.txt
	@# Key generation beside enVector's own generator (pyenvector-keygen 1.6.3 for ip3/mm32, evi
	@# driven by the script for ip0/rmp, which pyenvector refuses): CPU, wall and peak memory
	@# of each child, alternating rounds (VS_ROUNDS of ip3/mm32, default 3).
	$(MAKE) --no-print-directory bin compat-deps
	$(PYTHON) bench/vs_pyenvector.py --rounds $(or $(VS_ROUNDS),3) | tee -a build/bench.txt

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseEnvelope -fuzztime $(FUZZTIME) -parallel 1 ./core/

clean:
	rm -rf bin build
