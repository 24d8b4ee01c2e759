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
VERSION     := $(shell cat VERSION)
# Where `make dist` writes the release files, and its tools (setuptools to build the
# wheel; auditwheel and pytest for `make disttest`).
DIST        ?= dist
DIST_VENV   := build/dist-venv
DIST_DEPS   := $(DIST_VENV)/.dist-deps
DIST_WORK   := build/dist-work
ARCH        := $(shell uname -m)
# Archive times: the last commit's (reproducible), or any fixed time outside git.
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 1700000000)
endif
export SOURCE_DATE_EPOCH
# Reproducible tar: sorted entries, fixed owner, times and modes.
TAR_REPRO   := tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) \
               --format=gnu --mode=u+rwX,go+rX,go-w
# make install puts the library in $(PREFIX)/lib whatever the distribution's custom
# (GNUInstallDirs would choose lib64 or lib/<multiarch> for some prefixes).
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_LIBDIR=lib

.PHONY: all build bin lib demo deps compat-deps dist-deps test lint gotest ctest pytest nodetest compat \
        dist disttest installtest readmetest bench fuzz install clean proto

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

# libenvector.so.0 (go build -buildmode=c-shared, through CMake) in build/cmake/lib, and
# the example build/cmake/examples/keygen_sealed. Needs no GoogleTest.
lib: $(CMAKE_DIR)/build.ninja
	cmake --build $(CMAKE_DIR) --target envector_go keygen_sealed

$(CMAKE_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(CMAKE_DIR) -G Ninja $(CMAKE_FLAGS)

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

test: lint gotest ctest pytest nodetest compat disttest installtest readmetest

lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi
	$(GO) vet ./...
	$(PYTHON) scripts/check-version

gotest: deps
	$(GO) test -count=1 ./...

# The C ABI: GoogleTest suites (local and AWS against moto), the C11 header check,
# exported symbols, leak checks, the example. Needs GoogleTest: without it CMake builds
# no test (its configure says so), and this fails saying why instead of passing.
ctest: deps $(CMAKE_DIR)/build.ninja
	@grep -q '^ENVECTOR_TESTS_BUILT:INTERNAL=ON$$' $(CMAKE_DIR)/CMakeCache.txt || \
	  cmake -S . -B $(CMAKE_DIR) >/dev/null && grep -q '^ENVECTOR_TESTS_BUILT:INTERNAL=ON$$' $(CMAKE_DIR)/CMakeCache.txt || { \
	  echo "make ctest: the C/C++ tests were not built in $(CMAKE_DIR): CMake found no GoogleTest (or they were turned off: ENVECTOR_BUILD_TESTS, CMAKE_DISABLE_FIND_PACKAGE_GTest)." >&2; \
	  echo "make ctest: install GoogleTest (Debian: sudo apt-get install libgtest-dev) and run make ctest again; make lib, make install and make dist do not need it." >&2; \
	  exit 1; }
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

# The library, header, pkg-config file, CMake package and the CLI (bin/envector-keygen)
# into $(PREFIX); builds what is out of date first (only that). Needs no GoogleTest.
install: $(CMAKE_DIR)/build.ninja
	cmake --build $(CMAKE_DIR) --target envector_go envector_cli
	cmake --install $(CMAKE_DIR) --prefix $(PREFIX)

# ---- release files ---------------------------------------------------------------------
# make dist writes into $(DIST)/, each installable without Go or a compiler:
#   envector_keys-$(VERSION)-py3-none-manylinux_X_Y_$(ARCH).whl  the Python package with
#       libenvector.so.0 inside; X.Y is the newest glibc symbol version the library needs
#       (bindings/python/setup.py reads it with readelf)
#   envector-keys-$(VERSION).tgz                 the npm package with libenvector.so.0 inside
#   envector-keygen-$(VERSION)-linux-$(ARCH).tar.gz  the CLI (static), LICENSE, README.md
#   libenvector-$(VERSION)-linux-$(ARCH).tar.gz  the C library: the install tree (lib,
#       include, lib/pkgconfig, lib/cmake, share/doc/envector/LICENSE)
#   SHA256SUMS                                   `cd $(DIST) && sha256sum -c SHA256SUMS`
# All from one build of the library (build/cmake), with -trimpath; archives reproducible
# (SOURCE_DATE_EPOCH, sorted entries, owner 0, gzip -n).
CLI_DIST := envector-keygen-$(VERSION)-linux-$(ARCH)
LIB_DIST := libenvector-$(VERSION)-linux-$(ARCH)

dist: $(CMAKE_DIR)/build.ninja $(DIST_DEPS)
	cmake --build $(CMAKE_DIR) --target envector_go envector_cli
	rm -rf $(DIST) $(DIST_WORK)
	mkdir -p $(DIST) $(DIST_WORK)
	@# The C library: the install tree of the library component, its library without
	@# DWARF debug information (strip --strip-debug: the symbols stay; the download is
	@# 9 MB instead of 16). This library goes into the wheel and the npm package too.
	cmake --install $(CMAKE_DIR) --prefix $(DIST_WORK)/$(LIB_DIST) --component library >/dev/null
	strip --strip-debug $(DIST_WORK)/$(LIB_DIST)/lib/libenvector.so.$(VERSION)
	$(TAR_REPRO) -C $(DIST_WORK) -cf - $(LIB_DIST) | gzip -n > $(DIST)/$(LIB_DIST).tar.gz
	@# The CLI.
	mkdir -p $(DIST_WORK)/$(CLI_DIST)
	cp $(CMAKE_DIR)/bin/envector-keygen LICENSE $(DIST_WORK)/$(CLI_DIST)/
	sed 's/@VERSION@/$(VERSION)/g; s/@ARCH@/$(ARCH)/g' cmake/envector-keygen-README.md.in > $(DIST_WORK)/$(CLI_DIST)/README.md
	$(TAR_REPRO) -C $(DIST_WORK) -cf - $(CLI_DIST) | gzip -n > $(DIST)/$(CLI_DIST).tar.gz
	@# The wheel, from a copy of bindings/python (setuptools writes build/ and *.egg-info
	@# next to its sources), with the C archive's library.
	mkdir -p $(DIST_WORK)/python
	tar -C bindings/python --exclude=__pycache__ --exclude=./build --exclude='*.egg-info' \
	  --exclude=./envector_keys/_lib -cf - . | tar -C $(DIST_WORK)/python -xf -
	cp LICENSE $(DIST_WORK)/python/   # setuptools puts LICENSE into the wheel's .dist-info
	ENVECTOR_LIB=$(CURDIR)/$(DIST_WORK)/$(LIB_DIST)/lib/libenvector.so.0 $(DIST_VENV)/bin/pip wheel --quiet \
	  --disable-pip-version-check --no-deps --no-build-isolation --no-index -w $(DIST) $(DIST_WORK)/python
	@ls $(DIST)/envector_keys-$(VERSION)-py3-none-manylinux_*_$(ARCH).whl >/dev/null 2>&1 || { \
	  echo "make dist: the wheel is not tagged manylinux ($$(ls $(DIST)/*.whl)): is readelf (binutils) installed?" >&2; exit 1; }
	@# The npm package: npm pack bundles the library (scripts/pack.js).
	cd bindings/node && ENVECTOR_LIB=$(CURDIR)/$(DIST_WORK)/$(LIB_DIST)/lib/libenvector.so.0 \
	  npm pack --silent --pack-destination $(abspath $(DIST)) >/dev/null
	test -f $(DIST)/envector-keys-$(VERSION).tgz
	cd $(DIST) && LC_ALL=C sha256sum *.whl *.tgz *.tar.gz > SHA256SUMS
	@cd $(DIST) && ls -l && echo "make dist: $(DIST)/ written (sha256sum -c SHA256SUMS checks it)"

# What dist and its tests need from PyPI: setuptools and wheel (to build the wheel),
# auditwheel (to check its manylinux tag), pytest.
dist-deps: $(DIST_DEPS)

$(DIST_DEPS): $(if $(wildcard $(DIST_VENV)/bin/python),,FORCE)
	rm -rf $(DIST_VENV)
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/pip install --quiet --disable-pip-version-check 'setuptools>=70.1' wheel 'auditwheel>=6' 'pytest>=7'
	touch $@

# The release files as a user gets them: the wheel into a new venv and the npm tarball
# into a new project, both with Go off PATH (timed); the CLI archive run; the C archive
# compiled against; SHA256SUMS; the wheel's tag checked by auditwheel; packing again
# gives the same bytes; scripts/set-version and check-version.
disttest: dist dist-deps
	@status=0; $(DIST_VENV)/bin/python -m pytest tests/dist -p no:cacheprovider -q $(DIST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "disttest: no test ran: that is a failure" >&2; exit 1; fi; exit $$status

# README's C lines (make install PREFIX=$$HOME/.local, pkg-config, find_package) against a
# temporary HOME, and a configure and install without GoogleTest.
installtest:
	tests/install_test.sh

# README's marked blocks (<!-- readme-test: NAME -->): the Install lines with dist/'s
# files and the Python and Node quick starts, in a temporary directory.
readmetest: dist dist-deps bin
	@status=0; $(DIST_VENV)/bin/python -m pytest tests/readme -p no:cacheprovider -q $(README_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "readmetest: no test ran: that is a failure" >&2; exit 1; fi; exit $$status

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
	rm -rf bin build dist
