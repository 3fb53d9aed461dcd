#!/bin/bash
# Node tests: Berth under a real, booted systemd.
#
#   tests/node/run_node_tests.sh BUILD_DIR
#
# Boots a Debian 12 root (mmdebstrap) with systemd as PID 1 in a
# systemd-nspawn container, installs Berth into it the way `make install`
# does (`cmake --install` with DESTDIR), and checks, one named step each,
# what only a real systemd can show: socket activation, Type=notify
# readiness, the watchdog, reload, a restart that keeps containers, the
# journal fields, the systemd cgroup driver end to end, /etc/crictl.yaml.
# Every step prints PASS or FAIL; the script fails when any step does.
#
# Needs root, systemd-nspawn (systemd-container), mmdebstrap, and either
# Debian's archive or a cached root. Anything missing: exit 77 with a banner
# (ctest counts that as skipped). The bootstrapped root is cached as a
# tarball under $BERTH_NODE_CACHE (default /var/cache/berth-node-test),
# keyed by its package list; each run unpacks a fresh copy and removes it.
#
# Env: BERTH_NODE_CACHE, BERTH_NODE_MIRROR (default http://deb.debian.org/debian),
# CRITEST_KIT (where crictl-1.32.0.xz is, as for the conformance tests),
# BERTH_NODE_KEEP=1 (keep the work directory; the container is still stopped),
# BERTH_NODE_TIMEOUT (seconds from the start, default 480, after which the
# running step is stopped and everything cleaned up).
set -uo pipefail

START_TIME=$(date +%s)
SOURCE_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(cd "${1:?usage: run_node_tests.sh BUILD_DIR}" && pwd) || exit 2
CACHE_DIR=${BERTH_NODE_CACHE:-/var/cache/berth-node-test}
MIRROR=${BERTH_NODE_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KIT=${CRITEST_KIT:-$SOURCE_DIR/../shared/tools/critest}

TEST_TITLE="node tests (Berth under a booted systemd)"
LOG_TAG=node-test
. "$SOURCE_DIR/tests/node/node_common.sh"

[ "$(id -u)" -eq 0 ] || skip "they need root"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is missing (apt-get install systemd-container)"
command -v mmdebstrap >/dev/null || skip "mmdebstrap is missing (apt-get install mmdebstrap)"
command -v nsenter >/dev/null || skip "nsenter is missing (util-linux)"
[ -d /sys/fs/cgroup ] || skip "no /sys/fs/cgroup"
require_build

# ---------------------------------------------------------------- the root
# systemd, runc, the steps' tools and Berth's libraries (node_common.sh).
node_root_tarball
[ "${NODE_PREPARE_ONLY:-0}" = 1 ] && exit 0

# ---------------------------------------------------------------- clean-up
WORK=$(mktemp -d /var/tmp/berth-node.XXXXXX)
ROOT=$WORK/root
CGROUP_NAME=berth-node-$$
NSPAWN_PID=""
DEADLINE_PID=""
INIT=""

cgroup_dirs() {
    local hierarchy
    for hierarchy in /sys/fs/cgroup/*/; do
        [ -d "$hierarchy$CGROUP_NAME" ] && echo "$hierarchy$CGROUP_NAME"
    done
}

cgroup_pids() {
    local dir
    for dir in $(cgroup_dirs); do
        find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null
    done | sort -u
}

cleanup() {
    local status=$?
    # Nothing interrupts the clean-up itself.
    trap - EXIT
    trap "" INT TERM
    # Its sleep killed, the deadline's subshell ends without firing.
    [ -z "$DEADLINE_PID" ] || pkill -P "$DEADLINE_PID" 2>/dev/null
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        # nspawn hands its SIGTERM to systemd as SIGRTMIN+3: a clean halt.
        kill -TERM "$NSPAWN_PID" 2>/dev/null
        for _ in $(seq 1 100); do
            kill -0 "$NSPAWN_PID" 2>/dev/null || break
            sleep 0.2
        done
    fi
    # Whatever is left (a container that ignored the halt) dies with its cgroup.
    for _ in 1 2 3 4 5; do
        local pids
        pids=$(cgroup_pids)
        [ -z "$pids" ] && break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.2
    done
    local dir
    for dir in $(cgroup_dirs); do
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
        [ -d "$dir" ] && echo "node-test: could not remove $dir" >&2
    done
    # The container's mounts lived in its own namespace; anything seen here
    # below the work directory is unmounted before the tree is removed.
    grep -o " ${WORK}[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r mount; do
        umount -l "$mount" 2>/dev/null
    done
    remove_work_and_exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# ctest's TIMEOUT (600 s) kills without a clean-up: end well before it. The
# step running then is stopped too (the trap waits for it otherwise), and
# nspawn, a child as well, halts the container.
# BERTH_NODE_TIMEOUT counts from the start, a first bootstrap included.
remaining=$(( ${BERTH_NODE_TIMEOUT:-480} - ($(date +%s) - START_TIME) ))
[ "$remaining" -ge 30 ] || remaining=30
( sleep "$remaining" &&
    { echo "node-test: out of time, stopping" >&2; kill -TERM $$; pkill -TERM -P $$; } ) &
DEADLINE_PID=$!

# ---------------------------------------------------------------- set-up
unpack_root "$ROOT"
install_berth "$ROOT" "$WORK/install.log"
# A file a user wrote survives the install: the second install into the
# same root must keep it.
echo "# local" >>"$ROOT/etc/crictl.yaml" 2>/dev/null
CRICTL_YAML_AFTER_FIRST=$(cat "$ROOT/etc/crictl.yaml" 2>/dev/null)
DESTDIR=$ROOT cmake --install "$BUILD_DIR" >"$WORK/install2.log" 2>&1 \
    || { cat "$WORK/install2.log" >&2; exit 1; }
CRICTL_YAML_AFTER_SECOND=$(cat "$ROOT/etc/crictl.yaml" 2>/dev/null)
sed -i '/^# local$/d' "$ROOT/etc/crictl.yaml" 2>/dev/null

install_crictl "$ROOT"
install_test_image "$ROOT" "$WORK"

# The init: the v1 hierarchies nspawn bind-mounts are read-only; systemd
# and runc inside need them writable.
cat >"$ROOT/sbin/berth-node-init" <<'EOF'
#!/bin/sh
for hierarchy in /sys/fs/cgroup/*; do
    mount -o remount,bind,rw "$hierarchy" 2>/dev/null
done
mount -o remount,rw /sys/fs/cgroup 2>/dev/null
exec /lib/systemd/systemd
EOF
chmod 0755 "$ROOT/sbin/berth-node-init"
echo "berth-node" >"$ROOT/etc/hostname"

# nspawn in a cgroup of its own on every hierarchy: one rmdir pass removes
# everything it and its containers made.
for hierarchy in /sys/fs/cgroup/*/; do
    [ -f "${hierarchy}cgroup.procs" ] || continue
    mkdir -p "$hierarchy$CGROUP_NAME" 2>/dev/null || continue
    if [ -f "$hierarchy$CGROUP_NAME/cpuset.cpus" ]; then
        cat "${hierarchy}cpuset.cpus" >"$hierarchy$CGROUP_NAME/cpuset.cpus"
        cat "${hierarchy}cpuset.mems" >"$hierarchy$CGROUP_NAME/cpuset.mems"
    fi
done

log "booting systemd in $ROOT"
(
    for dir in $(cgroup_dirs); do
        echo "$BASHPID" >"$dir/cgroup.procs" 2>/dev/null
    done
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0 exec systemd-nspawn -D "$ROOT" --machine="berth-node-$$" \
        --register=no --keep-unit --console=pipe --private-network --capability=all \
        --system-call-filter='@mount @privileged @system-service @keyring bpf' \
        --kill-signal=SIGRTMIN+3 /sbin/berth-node-init
) </dev/null >"$WORK/nspawn.log" 2>&1 &
NSPAWN_PID=$!

# The container's PID 1: the process in our cgroup whose innermost pid is 1.
for _ in $(seq 1 100); do
    for pid in $(cgroup_pids); do
        if [ "$(awk '/^NSpid:/{print $NF}' "/proc/$pid/status" 2>/dev/null)" = 1 ] &&
           [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; then
            INIT=$pid
        fi
    done
    [ -n "$INIT" ] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$INIT" ]; then
    echo "node-test: systemd did not start in the container:" >&2
    cat "$WORK/nspawn.log" >&2
    exit 1
fi

# A command inside the container, as from a root shell there. Bounded, so
# that a hung call cannot keep the clean-up (a trap) from ever running.
in_node() {
    timeout 120 nsenter -t "$INIT" -a \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# Until systemd listens on its private socket, systemctl cannot even ask.
state=""
for _ in $(seq 1 120); do
    state=$(in_node timeout 60 systemctl is-system-running --wait 2>/dev/null)
    case "$state" in running|degraded|maintenance|stopping) break ;; esac
    sleep 0.5
done
log "systemd in the container: $state after $(( $(date +%s) - START_TIME )) s"
if [ "$state" != running ] && [ "$state" != degraded ]; then
    echo "node-test: systemd did not come up ($state):" >&2
    tail -50 "$WORK/nspawn.log" >&2
    exit 1
fi
[ "$state" = degraded ] && in_node systemctl --failed --no-legend >&2

# ---------------------------------------------------------------- helpers
STEP_OUTPUT=2
. "$SOURCE_DIR/tests/node/step_runner.sh"

# unit_prop UNIT PROPERTY
unit_prop() { in_node systemctl show -p "$2" --value "$1"; }

berthd_active() { [ "$(unit_prop berthd.service ActiveState)" = active ]; }

# journal of berthd.service since a cursor, as JSON lines.
journal_since() { in_node journalctl -u berthd.service --after-cursor="$1" -o json --no-pager; }
journal_cursor() { in_node journalctl -n 1 -q --show-cursor --no-pager -o cat | sed -n 's/^-- cursor: //p'; }

write_dropin() {  # write_dropin NAME CONTENT: a berthd.service drop-in
    mkdir -p "$ROOT/etc/systemd/system/berthd.service.d"
    printf '%s\n' "$2" >"$ROOT/etc/systemd/system/berthd.service.d/$1.conf"
    in_node systemctl daemon-reload
}

write_berth_conf() {  # write_berth_conf NAME CONTENT: a berth.conf drop-in
    mkdir -p "$ROOT/etc/berth/berth.conf.d"
    printf '%s\n' "$2" >"$ROOT/etc/berth/berth.conf.d/$1.conf"
}

. "$SOURCE_DIR/tests/node/steps.sh"

# ---------------------------------------------------------------- the steps
# In this order: each step leaves the node as the next one expects.
for step in installed-files socket-activation notify-readiness reload journal-fields \
            watchdog-healthy watchdog-hung image-import restart-keeps-containers crictl-yaml \
            systemd-cgroup-driver; do
    run_step "$step" "step_${step//-/_}"
done

echo >&2
echo "node tests: summary" >&2
printf '  %s\n' "${SUMMARY[@]}" >&2
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "node tests: the last of berthd's journal:" >&2
    in_node journalctl -u berthd.service -n 80 --no-pager >&2
    echo "node tests: FAILED: ${FAILED[*]}" >&2
    exit 1
fi
echo "node tests: all passed in $(( $(date +%s) - START_TIME )) s" >&2
exit 0
