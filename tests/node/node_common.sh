# shellcheck shell=bash
# What the node tests share, sourced by run_node_tests.sh (a booted systemd
# in systemd-nspawn) and run_cgroup2_vm.sh (a booted systemd in a qemu VM):
# the skip banner, the cached Debian root, Berth installed into a fresh copy
# of it, crictl and the busybox test image.
#
# The caller sets SOURCE_DIR, BUILD_DIR, CACHE_DIR, MIRROR, SUITE, KIT,
# TEST_TITLE (for the banner) and LOG_TAG (the prefix of log lines).

skip() {
    {
        echo "################################################################"
        echo "# SKIPPED: $TEST_TITLE: $*"
        echo "################################################################"
    } >&2
    exit 77
}

log() { echo "$LOG_TAG: $*" >&2; }

# The end of both tests' EXIT traps: the work directory removed (kept with
# BERTH_NODE_KEEP=1), the total time, and exit with `status`.
remove_work_and_exit() {
    if [ "${BERTH_NODE_KEEP:-0}" = 1 ]; then
        log "kept $WORK"
    else
        rm -rf --one-file-system "$WORK"
    fi
    log "total $(( $(date +%s) - START_TIME )) s"
    exit "$1"
}

# Berth's binaries must have been built.
require_build() {
    local binary
    for binary in daemon/berthd daemon/berth-conmon tools/berthctl/berthctl; do
        [ -x "$BUILD_DIR/$binary" ] || skip "$BUILD_DIR/$binary is not built"
    done
}

# The Debian packages of the libraries Berth's binaries link (found with
# ldd, so the list follows the build).
library_packages() {
    local file
    for file in "$BUILD_DIR/daemon/berthd" "$BUILD_DIR/daemon/berth-conmon" \
                "$BUILD_DIR/tools/berthctl/berthctl" "$BUILD_DIR"/daemon/berth-pod-init \
                "$BUILD_DIR"/daemon/berth-unpack; do
        [ -x "$file" ] && ldd "$file" 2>/dev/null
    done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
        # dpkg knows a file by the path its package ships, which after the
        # /usr merge may be either spelling: ask for all of them at once.
        printf '%s\n' "$lib" "$(realpath "$lib")"
        case "$lib" in /usr/*) echo "${lib#/usr}" ;; *) echo "/usr$lib" ;; esac
    done | sort -u | xargs dpkg -S 2>/dev/null | cut -d: -f1 | sort -u
}

# archive_reachable: Debian's archive answers.
archive_reachable() {
    curl -fsS -m 15 -o /dev/null "$MIRROR/dists/$SUITE/Release" 2>/dev/null
}

# node_root_tarball EXTRA_PACKAGE...: sets TARBALL to the cached root with
# systemd, runc, the tools the steps use, the libraries Berth links and the
# extra packages; bootstraps it (mmdebstrap) when it is not cached yet. The
# cache is keyed by the package list, so each list has a tarball of its own.
node_root_tarball() {
    local packages key
    packages=$( { printf '%s\n' systemd systemd-sysv dbus runc iproute2 procps util-linux "$@"
                  library_packages; } | sort -u | tr '\n' ',' | sed 's/,$//')
    key=$(printf '%s %s %s' "$SUITE" minbase "$packages" | sha256sum | cut -c1-16)
    TARBALL=$CACHE_DIR/root-$SUITE-$key.tar
    [ -s "$TARBALL" ] && return 0
    archive_reachable || skip "no cached root ($TARBALL) and $MIRROR is not reachable"
    mkdir -p "$CACHE_DIR"
    log "bootstrapping a $SUITE root into $TARBALL (once; later runs use the cache)"
    log "packages: $packages"
    # mmdebstrap picks its output format from the name: keep ".tar" last.
    local partial=$CACHE_DIR/partial-$$-${TARBALL##*/}
    if ! mmdebstrap --quiet --variant=minbase --include="$packages" "$SUITE" \
            "$partial" "$MIRROR" >&2; then
        rm -f "$partial"
        log "mmdebstrap failed"
        exit 1
    fi
    mv "$partial" "$TARBALL"
}

# unpack_root ROOT: a fresh copy of the cached root.
unpack_root() {
    log "unpacking the cached root"
    mkdir -p "$1"
    tar -C "$1" -xf "$TARBALL" || { log "cannot unpack $TARBALL"; exit 1; }
}

# install_berth ROOT LOGFILE [CMAKE_INSTALL_OPTION...]: Berth, installed as
# `make install` does it; sets PREFIX to the installation prefix.
install_berth() {
    local root=$1 logfile=$2
    shift 2
    log "installing Berth into the root (cmake --install${*:+ $*}, DESTDIR)"
    DESTDIR=$root cmake --install "$BUILD_DIR" "$@" >"$logfile" 2>&1 \
        || { cat "$logfile" >&2; exit 1; }
    PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD_DIR/CMakeCache.txt")
    PREFIX=${PREFIX:-/usr/local}
}

# install_crictl ROOT: crictl 1.32.0 from the critest kit, when there is
# one; sets CRICTL to its path inside the root (empty without the kit).
install_crictl() {
    CRICTL=""
    if [ -f "$KIT/bin/crictl-1.32.0.xz" ]; then
        xz -dc "$KIT/bin/crictl-1.32.0.xz" >"$1/usr/local/bin/crictl" \
            && chmod 0755 "$1/usr/local/bin/crictl" && CRICTL=/usr/local/bin/crictl
    fi
}

# install_test_image ROOT WORK: the busybox:multi test image as an OCI
# layout under ROOT/var/tmp/images, for `berthctl image import` inside; sets
# IMAGE_LAYOUT to its path inside the root.
install_test_image() {
    python3 "$SOURCE_DIR/tests/fixtures/make_test_images.py" "$2/images" >"$2/images.json" \
        || { log "cannot build the test image"; exit 1; }
    mkdir -p "$1/var/tmp/images"
    cp -a "$2/images/." "$1/var/tmp/images/"
    IMAGE_LAYOUT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["busybox:multi"]["layout"])' \
        "$2/images.json" 2>/dev/null)
    IMAGE_LAYOUT=/var/tmp/images/${IMAGE_LAYOUT##*/}
    # The layout's ref.name is a bare tag, which names no repository: name
    # the image for the import (the annotation containerd's exports carry).
    python3 - "$1$IMAGE_LAYOUT/index.json" <<'EOF_PY' || exit 1
import json, sys
index = json.load(open(sys.argv[1]))
for manifest in index["manifests"]:
    manifest.setdefault("annotations", {})["io.containerd.image.name"] = "docker.io/library/busybox:multi"
json.dump(index, open(sys.argv[1], "w"))
EOF_PY
}
