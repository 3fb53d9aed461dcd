#!/bin/bash
# cgroup v2 end to end: Berth in a qemu VM with a pure unified hierarchy.
#
#   tests/node/run_cgroup2_vm.sh BUILD_DIR
#
# The machines Berth is built on have cgroup v1 (hybrid) only, so no
# container there gets a cgroup v2 tree with controllers. This test boots
# Debian's own kernel under qemu's software emulation (TCG) with
# systemd.unified_cgroup_hierarchy=1, on a fresh copy of the node tests'
# Debian root (plus crun and jq) shared from the host over 9p, with Berth
# installed into it as `make install` does. A unit in the root runs
# cgroup2_guest.sh at boot: the named steps of cgroup2_steps.sh (memory and
# pids limits in the container's cgroup, OOMKilled, UpdateContainerResources,
# UpdatePodSandboxResources, ContainerStats and PodSandboxStats, removal)
# for both cgroup managers, with runc and with crun, each printing PASS or
# FAIL to the VM's second serial port, which the host shows as it comes.
# Then the VM powers off. The script fails when any step does.
#
# Needs root, qemu-system-x86 (installed on demand when the archive is
# reachable), busybox-static, mmdebstrap, and either Debian's archive or a
# cached root and kernel. Anything missing: exit 77 with a banner (ctest
# counts that as skipped). Root and kernel are cached under $BERTH_NODE_CACHE
# (default /var/cache/berth-node-test), beside the node tests' root.
#
# Env: BERTH_NODE_CACHE, BERTH_NODE_MIRROR (default http://deb.debian.org/debian),
# CRITEST_KIT (where crictl-1.32.0.xz is), BERTH_NODE_KEEP=1 (keep the work
# directory), BERTH_CGROUP2_TIMEOUT (seconds, default 345, counted once the
# root and kernel are cached, after which qemu is killed and everything
# cleaned up).
set -uo pipefail

START_TIME=$(date +%s)
SOURCE_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(cd "${1:?usage: run_cgroup2_vm.sh BUILD_DIR}" && pwd) || exit 2
CACHE_DIR=${BERTH_NODE_CACHE:-/var/cache/berth-node-test}
MIRROR=${BERTH_NODE_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KIT=${CRITEST_KIT:-$SOURCE_DIR/../shared/tools/critest}
TIMEOUT=${BERTH_CGROUP2_TIMEOUT:-345}

TEST_TITLE="cgroup v2 VM test (Berth in a qemu VM with a pure unified hierarchy)"
LOG_TAG=cgroup2-vm
. "$SOURCE_DIR/tests/node/node_common.sh"

[ "$(id -u)" -eq 0 ] || skip "it needs root"
require_build
command -v mmdebstrap >/dev/null || skip "mmdebstrap is missing (apt-get install mmdebstrap)"
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x cpio >/dev/null \
    || skip "/bin/busybox with cpio is missing (apt-get install busybox-static)"
if ! command -v qemu-system-x86_64 >/dev/null; then
    log "qemu-system-x86_64 is missing: installing qemu-system-x86"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        qemu-system-x86 >/dev/null 2>&1
    command -v qemu-system-x86_64 >/dev/null \
        || skip "qemu-system-x86_64 is missing and could not be installed (apt-get install qemu-system-x86)"
fi

# ---------------------------------------------------------------- root and kernel
# The node tests' root plus crun (the second runtime) and jq (the steps
# read berthctl's JSON inside, where there is no python).
node_root_tarball crun jq

# Debian's kernel, from the linux-image-amd64 dependency's .deb (never
# installed on the host): vmlinuz and the modules the initramfs loads, with
# what they depend on, in load order. Cached as kernel-<version>/.
KERNEL_MODULES="virtio_pci 9pnet_virtio 9p overlay"

# module_closure MODULE_DIR NAME...: the .ko files for NAME and everything
# it depends on (the "depends=" of each module's .modinfo), dependencies first.
module_closure() {
    local dir=$1
    shift
    local -A seen=()
    local order=()
    visit() {
        local name=$1 file depends dep
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        file=$(find "$dir/kernel" \( -name "$name.ko" -o -name "${name//_/-}.ko" \) -print -quit)
        [ -n "$file" ] || { log "module $name is not in the kernel package"; return 1; }
        depends=$(tr '\0' '\n' <"$file" | sed -n 's/^depends=//p' | head -1)
        for dep in ${depends//,/ }; do
            visit "$dep" || return 1
        done
        order+=("$file")
    }
    local name
    for name in "$@"; do
        visit "$name" || return 1
    done
    printf '%s\n' "${order[@]}"
}

find_kernel() {
    KERNEL_DIR=$(ls -d "$CACHE_DIR"/kernel-*/ 2>/dev/null | sort -V | tail -1)
    KERNEL_DIR=${KERNEL_DIR%/}
    [ -n "$KERNEL_DIR" ] && [ -s "$KERNEL_DIR/vmlinuz" ] && [ -s "$KERNEL_DIR/modules/order" ]
}

fetch_kernel() {
    local package
    package=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
    [ -n "$package" ] || skip "no cached kernel and apt knows no linux-image-amd64 (apt-get update)"
    archive_reachable || skip "no cached kernel and $MIRROR is not reachable"
    local partial=$CACHE_DIR/partial-kernel-$$
    rm -rf "$partial"
    mkdir -p "$partial/deb" "$partial/out/modules"
    log "fetching $package (once; later runs use the cache)"
    # apt's sandbox user cannot write to root's directories.
    (cd "$partial/deb" && apt-get -q -o APT::Sandbox::User=root download "$package" >&2) \
        && dpkg-deb -x "$partial"/deb/*.deb "$partial/x" \
        || { rm -rf "$partial"; skip "cannot fetch or unpack $package"; }
    local version
    version=$(ls "$partial/x/lib/modules" | head -1)
    cp "$partial/x/boot/vmlinuz-$version" "$partial/out/vmlinuz"
    local files
    # shellcheck disable=SC2086  # a list of names
    files=$(module_closure "$partial/x/lib/modules/$version" $KERNEL_MODULES) \
        || { rm -rf "$partial"; log "the kernel package lacks a module"; exit 1; }
    local file
    for file in $files; do
        cp "$file" "$partial/out/modules/"
        basename "$file" .ko >>"$partial/out/modules/order"
    done
    rm -rf "$CACHE_DIR/kernel-$version"
    mv "$partial/out" "$CACHE_DIR/kernel-$version"
    rm -rf "$partial"
}

mkdir -p "$CACHE_DIR"
find_kernel || { fetch_kernel; find_kernel; } || { log "no usable kernel in $CACHE_DIR"; exit 1; }
log "kernel: $KERNEL_DIR ($(tr '\n' ' ' <"$KERNEL_DIR/modules/order"))"

# ---------------------------------------------------------------- clean-up
WORK=$(mktemp -d /var/tmp/berth-cgroup2.XXXXXX)
ROOT=$WORK/root
QEMU_PID=""
DEADLINE_PID=""
STEPS_LOG=$WORK/steps.log
CONSOLE_LOG=$WORK/console.log

cleanup() {
    local status=$?
    trap - EXIT
    trap "" INT TERM
    [ -z "$DEADLINE_PID" ] || pkill -P "$DEADLINE_PID" 2>/dev/null
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        log "killing qemu (pid $QEMU_PID)"
        kill -KILL "$QEMU_PID" 2>/dev/null
        wait "$QEMU_PID" 2>/dev/null
        [ -s "$STEPS_LOG" ] && { log "the steps' output so far:"; tr -d '\r' <"$STEPS_LOG" >&2; }
        [ -s "$CONSOLE_LOG" ] && { log "the end of the VM's console:"; tr -d '\r' <"$CONSOLE_LOG" | tail -40 >&2; }
    fi
    remove_work_and_exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The VM part has a hard limit of its own, counted from here (a first
# bootstrap of the root, minutes on a busy machine, comes before): ctest's
# TIMEOUT kills without a clean-up. The wait for qemu below returns at the
# signal, and the trap kills qemu.
# (The sleep's death by the clean-up's signal is not worth a message.)
( { sleep "$TIMEOUT"; } 2>/dev/null &&
    { echo "$LOG_TAG: out of time (${TIMEOUT} s), stopping" >&2; kill -TERM $$; } ) &
DEADLINE_PID=$!

# ---------------------------------------------------------------- the root
unpack_root "$ROOT"
# Stripped: the VM reads every binary over 9p, and debug info is most of
# their size.
install_berth "$ROOT" "$WORK/install.log" --strip
install_crictl "$ROOT"
install_test_image "$ROOT" "$WORK"

GUEST=/var/tmp/cgroup2
mkdir -p "$ROOT$GUEST"
cp "$SOURCE_DIR/tests/node/cgroup2_guest.sh" "$SOURCE_DIR/tests/node/cgroup2_steps.sh" \
    "$SOURCE_DIR/tests/node/step_runner.sh" "$ROOT$GUEST/"
chmod 0755 "$ROOT$GUEST/cgroup2_guest.sh"
cat >"$ROOT$GUEST/env" <<EOF
PREFIX=$PREFIX
CRICTL=$CRICTL
IMAGE_LAYOUT=$IMAGE_LAYOUT
EOF
# Berth's state and the containers' overlay root filesystems on tmpfs: the
# 9p root cannot be an overlayfs upper layer.
echo "tmpfs /var/lib/berth tmpfs mode=0711 0 0" >>"$ROOT/etc/fstab"
echo "berth-cgroup2" >"$ROOT/etc/hostname"
cat >"$ROOT/etc/systemd/system/berth-cgroup2-test.service" <<EOF
[Unit]
Description=Berth cgroup v2 checks (run_cgroup2_vm.sh)
After=local-fs.target
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=oneshot
ExecStart=$GUEST/cgroup2_guest.sh
TimeoutStartSec=infinity
EOF
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sf ../berth-cgroup2-test.service "$ROOT/etc/systemd/system/multi-user.target.wants/"
# Emulation is slow: nothing runs that the steps do not need (gettys,
# logind, the periodic jobs), and the journal stays in memory rather than
# going to the 9p root.
for unit in serial-getty@ttyS0.service getty@tty1.service systemd-logind.service \
            e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer \
            dpkg-db-backup.timer fstrim.timer systemd-tmpfiles-clean.timer \
            systemd-update-utmp.service systemd-journal-flush.service; do
    ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done
mkdir -p "$ROOT/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$ROOT/etc/systemd/journald.conf.d/berth-vm.conf"

# ---------------------------------------------------------------- initramfs
# busybox, the modules, and an /init that loads them, mounts the 9p root
# and hands over to systemd.
INITRAMFS=$WORK/initramfs
mkdir -p "$INITRAMFS/bin" "$INITRAMFS/modules" "$INITRAMFS/proc" "$INITRAMFS/sys" \
         "$INITRAMFS/dev" "$INITRAMFS/newroot"
cp /bin/busybox "$INITRAMFS/bin/busybox"
cp "$KERNEL_DIR"/modules/* "$INITRAMFS/modules/"
cat >"$INITRAMFS/init" <<'EOF'
#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t devtmpfs devtmpfs /dev
for module in $($B cat /modules/order); do
    $B insmod "/modules/$module.ko" || echo "initramfs: insmod $module failed"
done
tries=0
until $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose berthroot /newroot; do
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || { echo "initramfs: cannot mount the 9p root"; $B poweroff -f; }
    $B sleep 0.1
done
$B umount /proc
$B umount /dev
exec $B switch_root /newroot /lib/systemd/systemd
EOF
chmod 0755 "$INITRAMFS/init"
(cd "$INITRAMFS" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$WORK/initrd.gz" \
    || { log "cannot build the initramfs"; exit 1; }

# ---------------------------------------------------------------- the VM
log "booting the VM (qemu TCG, 2 CPUs, 1536 MiB) after $(( $(date +%s) - START_TIME )) s"
: >"$STEPS_LOG"
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1536 -smp 2 \
    -nodefaults -no-user-config -display none -no-reboot -nic none \
    -kernel "$KERNEL_DIR/vmlinuz" -initrd "$WORK/initrd.gz" \
    -append "console=ttyS0 rw panic=-1 loglevel=4 mitigations=off systemd.unified_cgroup_hierarchy=1 systemd.show_status=false" \
    -serial "file:$CONSOLE_LOG" -serial "file:$STEPS_LOG" \
    -fsdev "local,id=root,path=$ROOT,security_model=passthrough" \
    -device virtio-9p-pci,fsdev=root,mount_tag=berthroot \
    </dev/null >"$WORK/qemu.log" 2>&1 &
QEMU_PID=$!

# The steps' output as it comes (the second serial port), until qemu ends.
shown=0
show_new_output() {
    local size
    size=$(stat -c %s "$STEPS_LOG" 2>/dev/null || echo 0)
    if [ "$size" -gt "$shown" ]; then
        tail -c +$((shown + 1)) "$STEPS_LOG" | head -c $((size - shown)) | tr -d '\r' >&2
        shown=$size
    fi
}
while kill -0 "$QEMU_PID" 2>/dev/null; do
    show_new_output
    sleep 1
done
wait "$QEMU_PID"
qemu_status=$?
QEMU_PID=""
show_new_output

if [ "$qemu_status" -ne 0 ]; then
    log "qemu failed ($qemu_status):"
    cat "$WORK/qemu.log" >&2
    exit 1
fi
result=$(tr -d '\r' <"$STEPS_LOG" | sed -n 's/^cgroup2 vm tests: result \([0-9]*\)$/\1/p' | tail -1)
if [ -z "$result" ]; then
    log "the VM ended without a result; the end of its console:"
    tr -d '\r' <"$CONSOLE_LOG" | tail -60 >&2
    exit 1
fi
if [ "$result" -ne 0 ]; then
    log "FAILED (VM ran $(( $(date +%s) - START_TIME )) s in total)"
    exit 1
fi
log "all passed in $(( $(date +%s) - START_TIME )) s"
exit 0
