#!/bin/bash
# Conformance: the Kubernetes CRI validation suite (critest) against a berthd
# of this build, the way CRI-O and containerd are judged.
#
#   tests/conformance/run_critest.sh BUILD_DIR [VERSION...]   (default: 1.32.0 1.26.1)
#
# It starts a berthd of its own (temporary root and runroot, a CNI bridge of
# its own, registry mirrors for the names critest hard-codes pointing at the
# kit's local registry), runs each critest version in turn and fails when any
# spec fails other than the one the kit marks OFFLINE-IMPOSSIBLE, or when fewer
# specs ran than Berth is known to run (a feature that stopped being reported
# turns specs into skips, which must not pass unnoticed). Everything it started
# or mounted is gone when it returns.
#
# The kit (crictl, critest, the offline image builder) is ../shared/tools/critest
# beside the source tree, or $CRITEST_KIT. Where it is absent (a user's fresh
# clone) the run is skipped with exit status 77 and a loud message.
#
# Env: CRITEST_KIT, CRITEST_REGISTRY (default 127.0.0.1:5000), CRITEST_FOCUS
# (a ginkgo focus regexp, for a partial run: the minimum counts are then not
# enforced), CRITEST_KEEP=1 (keep the temporary directory for inspection).
set -uo pipefail

SOURCE_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(cd "${1:?usage: run_critest.sh BUILD_DIR [VERSION...]}" && pwd) || exit 2
shift
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(1.32.0 1.26.1)

# The fewest specs each version must run (and pass, the digest pull aside).
declare -A MINIMUM_RAN=([1.32.0]=99 [1.26.1]=80)

skip() {
    echo "########################################################################" >&2
    echo "# SKIPPED: critest conformance: $*" >&2
    echo "########################################################################" >&2
    exit 77
}

KIT=${CRITEST_KIT:-$SOURCE_DIR/../shared/tools/critest}
[ -x "$KIT/run-critest.sh" ] || skip "no critest kit at $KIT (set CRITEST_KIT to one)"
[ "$(id -u)" -eq 0 ] || skip "berthd needs root"
BERTHD=$BUILD_DIR/daemon/berthd
BERTHCTL=$BUILD_DIR/tools/berthctl/berthctl
[ -x "$BERTHD" ] && [ -x "$BERTHCTL" ] || { echo "no berthd/berthctl in $BUILD_DIR" >&2; exit 2; }

export CRITEST_REGISTRY=${CRITEST_REGISTRY:-127.0.0.1:5000}
export CRITEST_KIT_WORK=${CRITEST_KIT_WORK:-/var/tmp/berth-critest-kit}

WORK=$(mktemp -d /var/tmp/berth-conformance.XXXXXX)
# Traversable like /var/lib: a container in a pod with its own user
# namespace reaches its root filesystem below it as a non-root host uid.
chmod o+x "$WORK"
# Short: runc and berth-conmon bind unix sockets below it (108-byte limit).
RUNROOT=/run/bct$$
BRIDGE=bct$(($$ % 100000))
SUBNET_OCTET=$((RANDOM % 250 + 1))
BERTHD_PID=""
REGISTRY_STARTED=""

cleanup() {
    local status=$?
    if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
        kill -TERM "$BERTHD_PID"
        for _ in $(seq 1 100); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$BERTHD_PID" 2>/dev/null
        wait "$BERTHD_PID" 2>/dev/null
    fi
    # Containers outlive berthd by design: what critest left behind goes with
    # the run (monitors, runtime state, mounts, namespaces pinned below it).
    pkill -KILL -f "[b]erth-conmon .*$RUNROOT/" 2>/dev/null
    pkill -KILL -f "[b]erth-pod-init .*$RUNROOT/" 2>/dev/null
    for runtime in runc crun; do
        if [ -d "$RUNROOT/$runtime" ]; then
            for id in $("$runtime" --root "$RUNROOT/$runtime" list -q 2>/dev/null); do
                "$runtime" --root "$RUNROOT/$runtime" delete -f "$id" >/dev/null 2>&1
            done
        fi
    done
    for dir in "$RUNROOT" "$WORK"; do
        # Deepest first; lazily, so that a busy mount cannot keep the rest.
        awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
            while read -r target; do umount -l "$target" 2>/dev/null; done
    done
    ip link delete "$BRIDGE" 2>/dev/null
    if [ -n "$REGISTRY_STARTED" ] && [ -f "$CRITEST_KIT_WORK/registry.pid" ]; then
        kill "$(cat "$CRITEST_KIT_WORK/registry.pid")" 2>/dev/null
    fi
    rm -rf "$RUNROOT"
    if [ "${CRITEST_KEEP:-0}" = 1 ]; then
        echo "conformance: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The kit's registry stays up between runs of a developer who started it;
# one this run starts goes with it.
curl -fsS -m 2 "http://$CRITEST_REGISTRY/v2/" >/dev/null 2>&1 || REGISTRY_STARTED=1

# berthd's default handler is crun where crun can create containers. crun
# 1.8 refuses a cgroup v1 hybrid host while hugetlb sits on the v2 hierarchy;
# a v1 hugetlb hierarchy fixes that (MACHINE.md). Without it berthd would
# fall back to runc, and the suite would judge a different default.
if command -v crun >/dev/null && [ -d /sys/fs/cgroup/memory ] &&
    ! grep -q ' /sys/fs/cgroup/hugetlb ' /proc/self/mountinfo; then
    mkdir -p /sys/fs/cgroup/hugetlb
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb ||
        echo "conformance: WARNING: no v1 hugetlb hierarchy: berthd's default handler will be runc" >&2
fi

# A bridge with an address of its own, made before the plugin sees it: the
# host reaches pod IPs (critest fetches pages from them) while the bridge
# plugin, with isGateway off, leaves IP forwarding alone.
ip link add "$BRIDGE" type bridge || exit 2
ip addr add "10.232.$SUBNET_OCTET.1/24" dev "$BRIDGE" || exit 2
ip link set "$BRIDGE" up || exit 2
mkdir -p "$WORK/net.d" "$WORK/logs"
cat >"$WORK/net.d/10-conformance.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "berth-conformance",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": false, "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$WORK/ipam",
        "ranges": [[{ "subnet": "10.232.$SUBNET_OCTET.0/24", "gateway": "10.232.$SUBNET_OCTET.1" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
EOF

mirror="[\"http://$CRITEST_REGISTRY\"]"
cat >"$WORK/berth.conf" <<EOF
[berth]
root = "$WORK/root"
runroot = "$RUNROOT"
log_dir = "$WORK/logs"
[berth.network]
network_dir = "$WORK/net.d"
[berth.runtime.runtimes.runc]
runtime_root = "$RUNROOT/runc"
[berth.image.mirrors]
"registry.k8s.io" = $mirror
"gcr.io" = $mirror
"docker.io" = $mirror
"public.ecr.aws" = $mirror
EOF
if command -v crun >/dev/null; then
    printf '[berth.runtime.runtimes.crun]\nruntime_root = "%s/crun"\n' "$RUNROOT" >>"$WORK/berth.conf"
fi

ENDPOINT=unix://$RUNROOT/berth.sock
"$BERTHD" --config "$WORK/berth.conf" --config-dir "$WORK/berth.conf.d" \
    >"$WORK/berthd.log" 2>&1 &
BERTHD_PID=$!
for _ in $(seq 1 100); do
    "$BERTHCTL" -r "$ENDPOINT" version >/dev/null 2>&1 && break
    kill -0 "$BERTHD_PID" 2>/dev/null || break
    sleep 0.1
done
if ! "$BERTHCTL" -r "$ENDPOINT" version >/dev/null 2>&1; then
    echo "conformance: berthd did not start; its log:" >&2
    tail -30 "$WORK/berthd.log" >&2
    exit 2
fi

focus=()
[ -n "${CRITEST_FOCUS:-}" ] && focus=(-ginkgo.focus="$CRITEST_FOCUS")
failed=0
for version in "${VERSIONS[@]}"; do
    out=$WORK/critest-$version
    echo "conformance: critest $version against $ENDPOINT," \
        "$(grep -o 'default runtime [a-z]*' "$WORK/berthd.log" | head -1)" >&2
    # critest's own temporary directories (pod logs, host paths with tmpfs
    # mounts, seccomp profiles) go below the run's, so that nothing a failed
    # spec leaves behind outlives the run.
    mkdir -p "$WORK/tmp"
    TMPDIR=$WORK/tmp OUT_DIR=$out TIMEOUT=600 "$KIT/run-critest.sh" --version "$version" "$ENDPOINT" "${focus[@]}"
    status=$?
    if [ "$status" -eq 2 ]; then
        echo "conformance: critest $version could not run (set-up error above)" >&2
        failed=1
        continue
    fi
    [ "$status" -eq 0 ] || failed=1
    if [ -f "$out/summary.json" ]; then
        ran=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ran"])' "$out/summary.json")
        minimum=${MINIMUM_RAN[$version]:-0}
        if [ -z "${CRITEST_FOCUS:-}" ] && [ "$ran" -lt "$minimum" ]; then
            echo "conformance: critest $version ran $ran specs, fewer than $minimum: specs that" \
                 "Berth passes were skipped (see $out/critest.log)" >&2
            failed=1
        fi
    fi
done
if [ "$failed" -ne 0 ]; then
    # CI keeps nothing but this output: berthd's complaints go with it.
    echo "conformance: berthd's warnings and errors (last 30):" >&2
    grep -E ' (warn|error|critical) ' "$WORK/berthd.log" | tail -30 >&2
fi
exit "$failed"
