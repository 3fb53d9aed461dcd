# The README's two commands, on a fresh Debian 12 machine as root:
#   make run    install what is missing, configure, build, run berthd in the foreground
#   make test   the same set-up, then every unit and integration test
# A thin wrapper: CMake does the building, ctest the testing.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
BERTHD_FLAGS ?=

.PHONY: all deps configure build run test test-node test-cgroup2 conformance bench bench-deps bench-pull install package clean

all: build

deps:
	./contrib/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@if [ "$$(id -u)" -ne 0 ]; then echo "make run: berthd needs root" >&2; exit 1; fi
	@# A pod network for a node that has none yet; an existing CNI set-up is never touched.
	@if [ -z "$$(ls /etc/cni/net.d/*.conf /etc/cni/net.d/*.conflist /etc/cni/net.d/*.json 2>/dev/null)" ]; then \
		install -D -m 0644 contrib/cni/10-berth-bridge.conflist /etc/cni/net.d/10-berth-bridge.conflist; \
		echo "make run: installed /etc/cni/net.d/10-berth-bridge.conflist"; \
	fi
	exec $(BUILD_DIR)/daemon/berthd $(BERTHD_FLAGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j $(JOBS)

# Berth under a real, booted systemd in a systemd-nspawn container
# (tests/node/run_node_tests.sh; also part of `make test`).
test-node: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L node

# cgroup v2 end to end in a qemu VM (tests/node/run_cgroup2_vm.sh; also part
# of `make test-node` and `make test`).
test-cgroup2: build
	cd $(BUILD_DIR) && ctest --output-on-failure -R '^node\.cgroup2-vm$$'

# critest 1.32.0 and 1.26.1 against a berthd of this build (also part of
# `make test`; tests/conformance/run_critest.sh says what it sets up).
conformance: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L conformance

# The lifecycle benchmark (docs/benchmarks.md): berthd against containerd's
# CRI plugin and the raw runc/crun, side by side. BENCH_FLAGS=--quick for a
# smoke run.
BENCH_FLAGS ?=
bench: bench-deps build
	./tests/bench/run_bench.py --build $(BUILD_DIR) $(BENCH_FLAGS)

# The peers only the benchmark compares against (containerd, Debian's conmon).
bench-deps:
	./contrib/install-deps.sh --bench

# The pull benchmark (docs/benchmarks.md): berthd against skopeo copy.
bench-pull: build
	./tests/bench/pull_benchmark.py --build $(BUILD_DIR)

install: build
	cmake --install $(BUILD_DIR)

# The package is built in its own tree, for /usr (where its systemd unit looks
# for berthd), without tests or debug info.
package: BUILD_DIR = build-deb
package: BUILD_TYPE = Release
package: CMAKE_FLAGS += -DCMAKE_INSTALL_PREFIX=/usr -DBERTH_BUILD_TESTS=OFF
package: build
	cd $(BUILD_DIR) && cpack -G DEB

clean:
	rm -rf build build-deb
