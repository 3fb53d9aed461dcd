# shellcheck shell=bash
# The steps of the cgroup v2 VM test, sourced inside the VM by
# cgroup2_guest.sh (run_step, fail, note and wait_for come from
# step_runner.sh; PREFIX, CRICTL and IMAGE_LAYOUT from the host). Each step
# runs in a subshell with `set -e`; it fails by returning non-zero (fail
# prints why) and is skipped by returning 77. What one step leaves for the next is kept in files under $STATE.

STATE=/run/cgroup2-test
mkdir -p "$STATE"

ctl() { "$PREFIX/bin/berthctl" -t 90s "$@"; }

MEMORY_LIMIT=67108864   # 64 MiB
UPDATED_LIMIT=100663296 # 96 MiB
PIDS_LIMIT=64
POD_MEMORY=268435456    # 256 MiB, UpdatePodSandboxResources
POD_CPU_QUOTA=50000

write_pod_config() {  # write_pod_config NAME CGROUP_PARENT
    cat >"$STATE/$1.json" <<EOF
{"metadata": {"name": "$1", "namespace": "cgroup2-test", "uid": "$1-uid", "attempt": 0},
 "log_directory": "/var/log/pods/cgroup2-test_$1",
 "linux": {"cgroup_parent": "$2",
           "security_context": {"namespace_options": {"network": 2}}}}
EOF
}

write_container_config() {  # write_container_config NAME MEMORY COMMAND...
    local name=$1 memory=$2
    shift 2
    local command
    # Each argument quoted by jq on its own: given as arguments, jq would
    # take a "-c" among them for its own option.
    local argument
    command=""
    for argument in "$@"; do
        command+=${command:+,}$(printf '%s' "$argument" | jq -Rs .)
    done
    command="[$command]"
    cat >"$STATE/$name.json" <<EOF
{"metadata": {"name": "$name"}, "image": {"image": "busybox:multi"},
 "command": $command, "log_path": "$name.log",
 "linux": {"resources": {"memory_limit_in_bytes": $memory,
                         "unified": {"pids.max": "$PIDS_LIMIT"}}}}
EOF
}

container_state() { ctl inspect "$1" | jq -r '.status.state'; }
container_exited() { [ "$(container_state "$1")" = CONTAINER_EXITED ]; }

# The unified-hierarchy directory of a process's cgroup.
process_cgroup_dir() {
    local path
    path=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    [ -n "$path" ] || return 1
    echo "/sys/fs/cgroup$path"
}

remove_all_pods() {
    local pod
    for pod in $(ctl pods -q); do
        ctl stopp "$pod" >/dev/null && ctl rmp "$pod" >/dev/null
    done
}

# use_cgroup_manager MANAGER: berthd restarted with that cgroup driver.
use_cgroup_manager() {
    mkdir -p /etc/berth/berth.conf.d
    printf '[berth.runtime]\ncgroup_manager = "%s"\n' "$1" >/etc/berth/berth.conf.d/50-cgroup.conf
    systemctl restart berthd.service
    ctl info | grep -E "\"cgroup_manager\\\\?\": *\\\\?\"$1" \
        || fail "berthd info does not report cgroup_manager $1"
}

# ---------------------------------------------------------------- steps

step_cgroup2_active() {
    local fstype controllers
    fstype=$(stat -fc %T /sys/fs/cgroup)
    controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
    note "/sys/fs/cgroup is $fstype; controllers: $controllers"
    [ "$fstype" = cgroup2fs ] || fail "/sys/fs/cgroup is not a cgroup2 file system"
    local controller
    for controller in memory pids cpu; do
        echo " $controllers " | grep -q " $controller " || fail "controller $controller is not on the unified hierarchy"
    done
    if grep -q ' cgroup ' /proc/mounts; then
        grep ' cgroup ' /proc/mounts
        fail "a cgroup v1 hierarchy is mounted"
    fi
    note "subtree_control of /: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
}

step_berthd_start() {
    systemctl enable --now berthd.socket >/dev/null 2>&1 || true
    use_cgroup_manager cgroupfs
    ctl version
}

step_image_import() {
    ctl image import "$IMAGE_LAYOUT" >/dev/null
    ctl images | grep busybox || fail "the imported image is not listed"
}

# The steps for one cgroup manager and runtime handler; TAG is
# "<manager>-<handler>", the prefix of the steps' names.
set_case() {  # set_case MANAGER HANDLER
    MANAGER=$1
    HANDLER=$2
    TAG=$1-$2
    if [ "$MANAGER" = systemd ]; then
        PARENT=berthvm-$HANDLER.slice
        PARENT_PATH=/berthvm.slice/berthvm-$HANDLER.slice
    else
        PARENT=/berthvm/$HANDLER
        PARENT_PATH=/berthvm/$HANDLER
    fi
}

step_limits() {
    write_container_config "limited-$TAG" "$MEMORY_LIMIT" /bin/sh -c 'sleep 3600'
    local pod container pid dir
    pod=$(cat "$STATE/pod")
    container=$(ctl create "$pod" "$STATE/limited-$TAG.json" "$STATE/pod-$TAG.json" 2>&1) \
        || fail "create: $container"
    echo "$container" >"$STATE/container"
    ctl start "$container" || fail "start failed"
    if [ "$(container_state "$container")" != CONTAINER_RUNNING ]; then
        ctl inspect "$container" | jq -c '.status | {state, exitCode, reason, message}'
        ctl logs "$container" || true
        fail "the container is not running"
    fi
    pid=$(ctl inspect "$container" | jq -r '.info.pid')
    dir=$(process_cgroup_dir "$pid") || fail "no unified cgroup for pid $pid"
    echo "$dir" >"$STATE/container_cgroup"
    note "container $container, pid $pid, cgroup $dir"
    case "$dir" in
        /sys/fs/cgroup$PARENT_PATH/*) ;;
        *) fail "the container's cgroup is not below $PARENT_PATH" ;;
    esac
    if [ "$MANAGER" = systemd ]; then
        # runc puts the process in the scope itself, crun in a leaf
        # "container" below it (so that the delegated scope may have children).
        case "$dir" in
            */berth-$container.scope | */berth-$container.scope/*) ;;
            *) fail "not in the scope berth-$container.scope" ;;
        esac
        [ "$(systemctl show -p ActiveState --value "berth-$container.scope")" = active ] \
            || fail "berth-$container.scope is not an active unit"
    fi
    local memory pids
    memory=$(cat "$dir/memory.max")
    pids=$(cat "$dir/pids.max")
    note "memory.max $memory, pids.max $pids"
    [ "$memory" = "$MEMORY_LIMIT" ] || fail "memory.max $memory, wanted $MEMORY_LIMIT"
    [ "$pids" = "$PIDS_LIMIT" ] || fail "pids.max $pids, wanted $PIDS_LIMIT"
    # No swap beyond the memory limit (the CRI's swap limit defaults to it).
    if [ -f "$dir/memory.swap.max" ]; then
        local swap
        swap=$(cat "$dir/memory.swap.max")
        note "memory.swap.max $swap"
        [ "$swap" = 0 ] || fail "memory.swap.max $swap, wanted 0 (no swap beyond the limit)"
    fi
    local pod_dir=/sys/fs/cgroup$PARENT_PATH/berth-$pod
    [ -d "$pod_dir" ] || fail "no pod cgroup $pod_dir"
    note "pod cgroup $pod_dir: processes $(tr '\n' ' ' <"$pod_dir/cgroup.procs")"
    # What UpdatePodSandboxResources wrote outlives the container's start
    # (with systemd: the slice realized for the container's scope).
    if [ -f "$STATE/pod_limits" ]; then
        local limits
        limits="$(cat "$pod_dir/memory.max") / $(cat "$pod_dir/cpu.max" 2>/dev/null || echo none)"
        note "pod cgroup memory.max / cpu.max now: $limits"
        [ "$limits" = "$(cat "$STATE/pod_limits")" ] \
            || fail "the pod's limits changed to $limits with the container's start"
    fi
}

step_update() {
    local container dir memory
    container=$(cat "$STATE/container")
    dir=$(cat "$STATE/container_cgroup")
    ctl update --memory "$UPDATED_LIMIT" "$container" >/dev/null || fail "update failed"
    memory=$(cat "$dir/memory.max")
    note "after UpdateContainerResources --memory $UPDATED_LIMIT: memory.max $memory"
    [ "$memory" = "$UPDATED_LIMIT" ] || fail "memory.max $memory, wanted $UPDATED_LIMIT"
    [ "$(cat "$dir/pids.max")" = "$PIDS_LIMIT" ] || fail "the update lost pids.max"
    local shown
    shown=$(ctl inspect "$container" | jq -r '.status.resources.linux.memoryLimitInBytes')
    [ "$shown" = "$UPDATED_LIMIT" ] || fail "ContainerStatus shows memory limit $shown"
}

# The pod, and its limits set before any container ran: nothing but
# berthd has enabled the controllers along the new cgroup_parent then.
step_pod_update() {
    write_pod_config "pod-$TAG" "$PARENT"
    local pod pod_dir
    pod=$(ctl runp --runtime "$HANDLER" "$STATE/pod-$TAG.json") || fail "runp: $pod"
    echo "$pod" >"$STATE/pod"
    note "pod $pod (handler $HANDLER, cgroup_parent $PARENT)"
    if ! ctl updatep --help >/dev/null 2>&1; then
        note "berthctl has no updatep (UpdatePodSandboxResources) and crictl 1.32 none either"
        return 77
    fi
    pod_dir=/sys/fs/cgroup$PARENT_PATH/berth-$pod
    ctl updatep --memory "$POD_MEMORY" --cpu-quota "$POD_CPU_QUOTA" --cpu-period 100000 "$pod" \
        || fail "UpdatePodSandboxResources failed"
    local memory cpu
    memory=$(cat "$pod_dir/memory.max")
    cpu=$(cat "$pod_dir/cpu.max")
    note "pod cgroup: memory.max $memory, cpu.max $cpu"
    [ "$memory" = "$POD_MEMORY" ] || fail "memory.max $memory, wanted $POD_MEMORY"
    [ "$cpu" = "$POD_CPU_QUOTA 100000" ] || fail "cpu.max $cpu, wanted $POD_CPU_QUOTA 100000"
    echo "$memory / $cpu" >"$STATE/pod_limits"
}

step_stats() {
    local container pod stats
    container=$(cat "$STATE/container")
    pod=$(cat "$STATE/pod")
    stats=$(ctl stats -o json "$container") || fail "ContainerStats failed"
    local memory cpu
    memory=$(echo "$stats" | jq -r '.stats[0].memory.workingSetBytes.value // 0')
    cpu=$(echo "$stats" | jq -r '.stats[0].cpu.usageCoreNanoSeconds.value // 0')
    note "container: memory working set $memory bytes, cpu $cpu ns"
    [ "$memory" -gt 0 ] || fail "ContainerStats report no memory use"
    [ "$cpu" -gt 0 ] || fail "ContainerStats report no cpu use"
    stats=$(ctl statsp -o json "$pod") || fail "PodSandboxStats failed"
    memory=$(echo "$stats" | jq -r '.stats[0].linux.memory.workingSetBytes.value // 0')
    cpu=$(echo "$stats" | jq -r '.stats[0].linux.cpu.usageCoreNanoSeconds.value // 0')
    local processes
    processes=$(echo "$stats" | jq -r '.stats[0].linux.process.processCount.value // 0')
    note "pod: memory working set $memory bytes, cpu $cpu ns, $processes processes"
    [ "$memory" -gt 0 ] || fail "PodSandboxStats report no memory use"
    [ "$cpu" -gt 0 ] || fail "PodSandboxStats report no cpu use"
    [ "$processes" -gt 0 ] || fail "PodSandboxStats report no processes"
}

step_oom() {
    local pod hog reason
    pod=$(cat "$STATE/pod")
    # dd's 64 MiB block buffer is really written, 16 MiB are allowed.
    write_container_config "hog-$TAG" 16777216 /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1
    hog=$(ctl create "$pod" "$STATE/hog-$TAG.json" "$STATE/pod-$TAG.json" 2>&1) || fail "create: $hog"
    ctl start "$hog" || fail "starting the hog failed"
    wait_for 40 container_exited "$hog" || fail "the hog did not end"
    reason=$(ctl inspect "$hog" | jq -r '.status.reason')
    note "hog (16 MiB limit, 64 MiB buffer): exit $(ctl inspect "$hog" | jq -r '.status.exitCode'), reason $reason"
    [ "$reason" = OOMKilled ] || fail "reason $reason, wanted OOMKilled"
}

step_remove() {
    local pod container dir
    pod=$(cat "$STATE/pod")
    container=$(cat "$STATE/container")
    dir=$(cat "$STATE/container_cgroup")
    ctl stopp "$pod" >/dev/null || fail "stopp failed"
    ctl rmp "$pod" >/dev/null || fail "rmp failed"
    [ ! -e "$dir" ] || fail "the container's cgroup $dir is left"
    [ ! -e "/sys/fs/cgroup$PARENT_PATH/berth-$pod" ] || fail "the pod's cgroup is left"
    local left
    left=$(find "/sys/fs/cgroup$PARENT_PATH" -mindepth 1 -type d 2>/dev/null || true)
    [ -z "$left" ] || fail "cgroups left below $PARENT_PATH: $left"
    if [ "$MANAGER" = systemd ]; then
        left=$(systemctl list-units --all --no-legend 'berth-*.scope' | grep -F "$container" || true)
        [ -z "$left" ] || fail "scope left: $left"
    fi
    note "no container or pod cgroup below $PARENT_PATH"
}

run_case() {  # run_case MANAGER HANDLER
    set_case "$1" "$2"
    rm -f "$STATE/pod" "$STATE/pod_limits" "$STATE/container" "$STATE/container_cgroup"
    local step
    for step in pod-update limits update stats oom remove; do
        run_step "$TAG-$step" "step_${step//-/_}"
    done
    remove_all_pods
}

run_all_steps() {
    run_step cgroup2-active step_cgroup2_active
    run_step berthd-start step_berthd_start
    run_step image-import step_image_import
    # Emulation makes every container start slow: both drivers with runc,
    # crun with the systemd one (its own systemd code, the common v2 set-up).
    run_case cgroupfs runc
    run_step systemd-driver step_systemd_driver
    run_case systemd runc
    run_case systemd crun
}

step_systemd_driver() { use_cgroup_manager systemd; }
