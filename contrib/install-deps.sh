#!/bin/sh
# Installs the Debian 12 packages Berth needs to build, test and run, and
# nothing else. Safe to run again: only packages that are missing are asked for,
# and apt-get is not touched at all when everything is present.
set -eu

# Build tool chain and libraries (found by CMake through pkg-config / config files).
BUILD_PACKAGES="
cmake make g++ pkg-config ccache git
protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
libseccomp-dev libsystemd-dev libtoml11-dev libspdlog-dev libfmt-dev
nlohmann-json3-dev libyaml-cpp-dev libgtest-dev libgmock-dev libcli11-dev libcap-dev libbenchmark-dev
libcurl4-openssl-dev libarchive-dev libssl-dev zlib1g-dev libmicrohttpd-dev
"

# What the daemon drives at run time and what the tests exercise for real.
# systemd provides systemd-analyze (unit verification); python3 drives
# integration tests; skopeo, docker-registry and apache2-utils (htpasswd) let
# the image tests push to and pull from a real registry on 127.0.0.1; crun is
# the second OCI runtime handler; python3-websockets is the independent
# WebSocket client of the streaming tests; criu checkpoints containers;
# containerd ships containerd-shim-runc-v2, the real shim v2 the VM runtime
# handler is tested against (no hypervisor needed); runsc (gVisor) is tested
# as an oci handler; umoci, xz-utils, curl and gcc are what the critest kit
# (the conformance stage) builds its offline images and checks its registry
# with. mmdebstrap and systemd-container (systemd-nspawn) boot the Debian
# root with a real systemd that the node tests run Berth under;
# qemu-system-x86 boots that root in a VM with a pure cgroup v2 hierarchy
# (the cgroup v2 node test; the build machines have v1 only).
RUNTIME_PACKAGES="
runc iptables iproute2 util-linux procps systemd python3
containernetworking-plugins busybox-static
skopeo docker-registry apache2-utils crun
python3-websockets criu containerd runsc
umoci xz-utils curl gcc
mmdebstrap systemd-container qemu-system-x86
"

# The peer `make bench` compares berth-conmon against, only with --bench:
# Debian's C conmon (containerd, the other peer, is installed anyway).
BENCH_PACKAGES="conmon"
extra=""
if [ "${1:-}" = "--bench" ]; then
    extra="$BENCH_PACKAGES"
fi

missing=""
for pkg in $BUILD_PACKAGES $RUNTIME_PACKAGES $extra; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root (or install them by hand) to continue" >&2
    exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet; one update fixes that.
apt-get update -qq
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing
