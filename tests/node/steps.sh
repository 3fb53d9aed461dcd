# shellcheck shell=bash
# The node test steps, sourced by run_node_tests.sh (which defines ROOT,
# PREFIX, in_node, unit_prop, wait_for, journal_*, write_dropin,
# write_berth_conf, CRICTL, IMAGE_LAYOUT). Each step runs in a
# subshell with `set -e`; it fails by returning non-zero (fail prints why)
# and is skipped by returning 77.

ctl() { in_node "$PREFIX/bin/berthctl" -t 20s "$@"; }

# json_get FIELD-EXPRESSION: reads JSON on stdin, prints the Python
# expression evaluated on it as `d` (the root has no python; the host does).
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# journal_has CURSOR PYTHON-CONDITION: some berthd.service entry since CURSOR
# satisfies the condition on `e` (the entry's fields).
journal_has() {
    journal_since "$1" | python3 -c '
import json, sys
cond = sys.argv[1]
for line in sys.stdin:
    e = json.loads(line)
    if isinstance(e.get("MESSAGE"), str) and eval(cond):
        print(json.dumps({k: e[k] for k in ("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER") if k in e}))
        sys.exit(0)
sys.exit(1)' "$2"
}

write_pod_config() {  # write_pod_config NAME [CGROUP_PARENT]: /var/tmp/NAME.json in the root
    local parent=${2:-}
    cat >"$ROOT/var/tmp/$1.json" <<EOF
{"metadata": {"name": "$1", "namespace": "node-test", "uid": "$1-uid", "attempt": 0},
 "log_directory": "/var/log/pods/node-test_$1",
 "linux": {"cgroup_parent": "$parent",
           "security_context": {"namespace_options": {"network": 2}}}}
EOF
}

write_container_config() {  # write_container_config NAME MEMORY COMMAND...
    local name=$1 memory=$2
    shift 2
    local command
    command=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@")
    cat >"$ROOT/var/tmp/$name.json" <<EOF
{"metadata": {"name": "$name"}, "image": {"image": "busybox:multi"},
 "command": $command, "log_path": "$name.log",
 "linux": {"resources": {"memory_limit_in_bytes": $memory}}}
EOF
}

container_state() { ctl inspect "$1" | json_get 'd["status"]["state"]'; }
# A function, so that wait_for asks again each time (a "$(...)" in its
# arguments would be expanded once, before the first try).
container_exited() { [ "$(container_state "$1")" = CONTAINER_EXITED ]; }

remove_all_pods() {
    local pod
    for pod in $(ctl pods -q); do
        ctl stopp "$pod" >/dev/null && ctl rmp "$pod" >/dev/null
    done
}

# ---------------------------------------------------------------- steps

step_installed_files() {
    local file
    for file in "$PREFIX/bin/berthd" "$PREFIX/bin/berthctl" /lib/systemd/system/berthd.service \
                /lib/systemd/system/berthd.socket /etc/berth/berth.conf /etc/crictl.yaml; do
        [ -e "$ROOT$file" ] || fail "$file was not installed"
        note "installed: $file"
    done
    grep -q "^ExecStart=$PREFIX/bin/berthd\$" "$ROOT/lib/systemd/system/berthd.service" \
        || fail "berthd.service does not start $PREFIX/bin/berthd"
    grep -qx 'runtime-endpoint: unix:///run/berth/berth.sock' "$ROOT/etc/crictl.yaml" \
        || fail "/etc/crictl.yaml does not point at /run/berth/berth.sock"
    grep -qx 'image-endpoint: unix:///run/berth/berth.sock' "$ROOT/etc/crictl.yaml" \
        || fail "/etc/crictl.yaml has no image-endpoint"
    # A second install keeps a crictl.yaml that is already there.
    case "$CRICTL_YAML_AFTER_SECOND" in
        *"# local"*) note "a second install kept the existing /etc/crictl.yaml" ;;
        *) fail "a second install replaced an existing /etc/crictl.yaml" ;;
    esac
    [ "$CRICTL_YAML_AFTER_FIRST" = "$CRICTL_YAML_AFTER_SECOND" ] || fail "crictl.yaml changed"
    in_node systemd-analyze verify berthd.service berthd.socket \
        || fail "systemd-analyze verify complains about the units"
    step_package_postinst
}

# The .deb's postinst (cmake/debian/postinst) does for the package what
# `make install` does: run here as dpkg would, on a node without and with
# an /etc/crictl.yaml.
step_package_postinst() {
    local saved=/var/tmp/crictl.yaml.saved
    cp "$SOURCE_DIR/cmake/debian/postinst" "$ROOT/var/tmp/postinst"
    # Where the package puts it (prefix /usr); a /usr/local install has its own.
    local shared=""
    if [ ! -e "$ROOT/usr/share/berth/crictl.yaml" ]; then
        shared=$ROOT/usr/share/berth
        mkdir -p "$shared"
        cp "$SOURCE_DIR/contrib/crictl.yaml" "$shared/crictl.yaml"
    fi
    mv "$ROOT/etc/crictl.yaml" "$ROOT$saved"
    in_node /var/tmp/postinst configure
    cmp "$ROOT/etc/crictl.yaml" "$SOURCE_DIR/contrib/crictl.yaml" \
        || fail "the postinst did not install /etc/crictl.yaml"
    echo "# mine" >"$ROOT/etc/crictl.yaml"
    in_node /var/tmp/postinst configure
    [ "$(cat "$ROOT/etc/crictl.yaml")" = "# mine" ] || fail "the postinst replaced an existing crictl.yaml"
    note "the package's postinst installs /etc/crictl.yaml when missing and keeps an existing one"
    mv "$ROOT$saved" "$ROOT/etc/crictl.yaml"
    [ -z "$shared" ] || rm -rf "$shared"
    rm -f "$ROOT/var/tmp/postinst"
}

step_socket_activation() {
    in_node systemctl enable --now berthd.socket
    [ "$(unit_prop berthd.socket ActiveState)" = active ] || fail "berthd.socket is not listening"
    [ "$(unit_prop berthd.service ActiveState)" = inactive ] \
        || fail "berthd.service started before anyone called"
    in_node test -S /run/berth/berth.sock || fail "no socket at /run/berth/berth.sock"
    note "socket listening, berthd.service inactive; first CRI call:"
    ctl version
    [ "$(unit_prop berthd.service ActiveState)" = active ] \
        || fail "berthd.service was not started by the connection"
    note "berthd.service: $(unit_prop berthd.service ActiveState)/$(unit_prop berthd.service SubState), TriggeredBy=$(unit_prop berthd.service TriggeredBy)"
    in_node journalctl -u berthd.service --no-pager -o cat | grep -q "using the socket passed by systemd" \
        || fail "berthd did not use the socket systemd passed"
    in_node systemctl enable berthd.service
}

step_notify_readiness() {
    # berthd's native journal messages and systemd's own share one datagram
    # socket, read in the order they were sent: journald's sequence numbers
    # order berthd's "serving" line (sent before READY=1) against systemd's
    # "Started" (logged once READY=1 is handled). The reception timestamps of
    # the two would not: under load journald may read the line after systemd
    # has already handled READY=1.
    write_berth_conf 10-journald '[berth]
log_target = "journald"'
    local cursor
    cursor=$(journal_cursor)
    in_node systemctl restart berthd.service
    [ "$(unit_prop berthd.service ActiveState)/$(unit_prop berthd.service SubState)" = active/running ] \
        || fail "berthd.service is not active/running after the restart"
    local status
    status=$(unit_prop berthd.service StatusText)
    note "StatusText: $status"
    [ "$status" = "serving the CRI API on /run/berth/berth.sock" ] \
        || fail "the STATUS= berthd sends with READY=1 did not reach systemd"
    local order
    order=$(journal_since "$cursor" | python3 -c '
import json, sys
serving = started = None
for line in sys.stdin:
    e = json.loads(line)
    # journalctl 252 prints no __SEQNUM; the cursor carries it as "i=<hex>".
    fields = dict(part.split("=", 1) for part in e["__CURSOR"].split(";"))
    seqnum = int(fields["i"], 16)
    if serving is None and "serving the CRI API" in str(e.get("MESSAGE")):
        serving = seqnum
    # the "Started" message of a start job (SD_MESSAGE_UNIT_STARTED in sd-messages.h)
    if started is None and e.get("MESSAGE_ID") == "39f53479d3a045ac8e11786248231fbf":
        started = seqnum
print(serving or "none", started or "none")')
    local serving=${order% *} started=${order#* }
    note "journal sequence: serving line $serving, systemd's Started $started"
    [ "$serving" != none ] || fail "no 'serving' line in the journal"
    [ "$started" != none ] || fail "no 'Started' message from systemd in the journal"
    [ "$started" -gt "$serving" ] || fail "systemd called berthd active before it served"
    local exec_start active
    exec_start=$(unit_prop berthd.service ExecMainStartTimestampMonotonic)
    active=$(unit_prop berthd.service ActiveEnterTimestampMonotonic)
    note "exec $exec_start us, active $active us"
    [ "$active" -gt "$exec_start" ] || fail "active at exec time: not Type=notify"
}

step_reload() {
    local pid restarts cursor
    pid=$(unit_prop berthd.service MainPID)
    restarts=$(unit_prop berthd.service NRestarts)
    cursor=$(journal_cursor)
    write_berth_conf 20-level '[berth]
log_level = "debug"'
    in_node systemctl reload berthd.service
    wait_for 10 journal_has "$cursor" '"reload: log_level info -> debug" in e["MESSAGE"]' \
        || fail "no 'log_level info -> debug' in the journal after systemctl reload"
    [ "$(unit_prop berthd.service MainPID)" = "$pid" ] || fail "reload restarted berthd"
    [ "$(unit_prop berthd.service NRestarts)" = "$restarts" ] || fail "reload restarted berthd"
    [ "$(unit_prop berthd.service ActiveState)/$(unit_prop berthd.service SubState)" = active/running ] \
        || fail "berthd.service not active/running after the reload"
    rm -f "$ROOT/etc/berth/berth.conf.d/20-level.conf"
    cursor=$(journal_cursor)
    in_node systemctl reload berthd.service
    wait_for 10 journal_has "$cursor" '"reload: log_level debug -> info" in e["MESSAGE"]' \
        || fail "no 'log_level debug -> info' after the second reload"
}

# Fields documented in operations.md ("Logs").
check_journal_fields() {  # check_journal_fields CURSOR
    local entry
    entry=$(journal_has "$1" '"serving the CRI API" in e["MESSAGE"] and e.get("SYSLOG_IDENTIFIER") == "berthd" and e.get("PRIORITY") == "6"') \
        || fail "no info line with SYSLOG_IDENTIFIER=berthd PRIORITY=6"
    note "info:    $entry"
    entry=$(journal_has "$1" '"takes effect when berthd restarts" in e["MESSAGE"] and e.get("SYSLOG_IDENTIFIER") == "berthd" and e.get("PRIORITY") == "4"') \
        || fail "no warning with PRIORITY=4"
    note "warning: $entry"
    entry=$(journal_has "$1" '"reload failed" in e["MESSAGE"] and e.get("PRIORITY") == "3"') \
        || fail "no error with PRIORITY=3"
    note "error:   $entry"
}

provoke_log_levels() {
    # A key that needs a restart (a warning), then a broken file (an error).
    write_berth_conf 30-queue '[berth.api]
events_queue_size = 999'
    in_node systemctl reload berthd.service
    echo 'broken = = toml' >"$ROOT/etc/berth/berth.conf.d/40-broken.conf"
    in_node systemctl reload berthd.service
    sleep 1
    rm -f "$ROOT/etc/berth/berth.conf.d/30-queue.conf" "$ROOT/etc/berth/berth.conf.d/40-broken.conf"
}

step_journal_fields() {
    local cursor
    note "log_target = \"journald\":"
    cursor=$(journal_cursor)
    in_node systemctl restart berthd.service
    provoke_log_levels
    check_journal_fields "$cursor"
    note "log_target = \"stderr\" (the default), stderr captured by journald:"
    rm -f "$ROOT/etc/berth/berth.conf.d/10-journald.conf"
    cursor=$(journal_cursor)
    in_node systemctl restart berthd.service
    provoke_log_levels
    check_journal_fields "$cursor"
    note "a configuration berthd refuses at start:"
    echo 'broken = = toml' >"$ROOT/etc/berth/berth.conf.d/40-broken.conf"
    cursor=$(journal_cursor)
    in_node systemctl restart berthd.service && fail "berthd started with a broken configuration"
    local entry
    entry=$(journal_has "$cursor" '"40-broken.conf:1" in e["MESSAGE"] and e.get("PRIORITY") == "3"') \
        || fail "the reason berthd did not start is not in the journal as an error"
    note "refused: $entry"
    rm -f "$ROOT/etc/berth/berth.conf.d/40-broken.conf"
    in_node systemctl restart berthd.service
}

step_watchdog_healthy() {
    write_dropin 50-watchdog '[Service]
WatchdogSec=2s
RestartSec=1s
TimeoutStopSec=5s'
    in_node systemctl restart berthd.service
    local pid restarts
    pid=$(unit_prop berthd.service MainPID)
    restarts=$(unit_prop berthd.service NRestarts)
    note "WatchdogSec=2s, MainPID $pid, NRestarts $restarts; waiting 7 s (3.5 periods)"
    sleep 7
    [ "$(unit_prop berthd.service MainPID)" = "$pid" ] || fail "a healthy berthd was replaced"
    [ "$(unit_prop berthd.service NRestarts)" = "$restarts" ] || fail "a healthy berthd was restarted"
    [ "$(unit_prop berthd.service ActiveState)" = active ] || fail "berthd.service is not active"
    ctl version >/dev/null
}

restarted_since() {  # restarted_since OLD_PID OLD_RESTARTS
    [ "$(unit_prop berthd.service NRestarts)" -gt "$2" ] &&
        [ "$(unit_prop berthd.service MainPID)" != "$1" ] &&
        [ "$(unit_prop berthd.service MainPID)" != 0 ] &&
        [ "$(unit_prop berthd.service ActiveState)" = active ]
}

step_watchdog_hung() {
    local pid restarts cursor
    pid=$(unit_prop berthd.service MainPID)
    restarts=$(unit_prop berthd.service NRestarts)
    cursor=$(journal_cursor)
    note "SIGSTOP to berthd (pid $pid in the container)"
    in_node kill -STOP "$pid"
    wait_for 20 restarted_since "$pid" "$restarts" || fail "systemd did not restart a hung berthd"
    note "restarted: MainPID $(unit_prop berthd.service MainPID), NRestarts $(unit_prop berthd.service NRestarts)"
    in_node journalctl --after-cursor="$cursor" --no-pager -o cat | grep -i "watchdog timeout" \
        || fail "the journal does not say the watchdog fired"
    ctl version >/dev/null
    rm -f "$ROOT/etc/systemd/system/berthd.service.d/50-watchdog.conf"
    in_node systemctl daemon-reload
}

step_image_import() {
    ctl image import "$IMAGE_LAYOUT"
    ctl images | grep busybox || fail "the imported image is not listed"
}

step_restart_keeps_containers() {
    write_pod_config keep
    write_container_config sleeper 0 /bin/sh -c 'sleep 3600'
    local pod container pid
    pod=$(ctl runp /var/tmp/keep.json)
    container=$(ctl create "$pod" /var/tmp/sleeper.json /var/tmp/keep.json)
    ctl start "$container"
    pid=$(ctl inspect "$container" | json_get 'd["info"]["pid"]')
    note "pod $pod, container $container, pid $pid"
    [ "$(container_state "$container")" = CONTAINER_RUNNING ] || fail "the container is not running"
    local old
    old=$(unit_prop berthd.service MainPID)
    in_node systemctl restart berthd.service
    [ "$(unit_prop berthd.service MainPID)" != "$old" ] || fail "berthd was not restarted"
    in_node kill -0 "$pid" || fail "the container's process died with berthd"
    [ "$(container_state "$container")" = CONTAINER_RUNNING ] \
        || fail "the restarted berthd does not show the container running"
    ctl ps -q --no-trunc --state running | grep -qx "$container" \
        || fail "ps does not list the container after the restart"
    [ "$(ctl inspect "$container" | json_get 'd["info"]["pid"]')" = "$pid" ] \
        || fail "the container's pid changed"
    note "after the restart: same id, same pid, running"
    echo "$pod" >"$ROOT/var/tmp/keep.pod"
}

step_crictl_yaml() {
    [ -n "$CRICTL" ] || { note "no crictl (the critest kit is absent)"; return 77; }
    local out
    out=$(in_node "$CRICTL" ps 2>&1) || fail "crictl ps without --runtime-endpoint failed: $out"
    echo "$out"
    case "$out" in *WARN*|*"connect endpoint"*) fail "crictl guessed its endpoint: $out" ;; esac
    echo "$out" | grep -q sleeper || fail "crictl ps does not list the running container"
    in_node "$CRICTL" images | grep -q busybox || fail "crictl images (image-endpoint) failed"
    remove_all_pods
}

step_systemd_cgroup_driver() {
    remove_all_pods
    write_berth_conf 60-cgroup '[berth.runtime]
cgroup_manager = "systemd"'
    in_node systemctl restart berthd.service
    if [ -n "$CRICTL" ]; then
        local runtime_config
        runtime_config=$(in_node "$CRICTL" runtime-config 2>&1) || true
        note "crictl runtime-config: $runtime_config"
        echo "$runtime_config" | grep -qi systemd \
            || fail "crictl runtime-config does not report the systemd cgroup driver"
        in_node "$CRICTL" info | grep -E '"cgroup_manager": *"systemd"' \
            || fail "crictl info does not show cgroup_manager systemd"
    fi

    local slice=berthnode-pod1.slice
    local slice_dir=/sys/fs/cgroup/memory/berthnode.slice/$slice
    write_pod_config limitedpod "$slice"
    write_container_config limited 33554432 /bin/sh -c 'sleep 3600'
    local pod container scope
    pod=$(ctl runp /var/tmp/limitedpod.json)
    container=$(ctl create "$pod" /var/tmp/limited.json /var/tmp/limitedpod.json 2>&1) \
        || fail "create: $container"
    ctl start "$container"
    scope=berth-$container.scope
    note "pod $pod in $slice, container scope $scope"
    [ "$(unit_prop "$scope" ActiveState)" = active ] || fail "$scope is not an active unit"
    [ "$(unit_prop "$scope" Slice)" = "$slice" ] || fail "$scope is not in $slice"
    local limit
    limit=$(in_node cat "$slice_dir/$scope/memory.limit_in_bytes") \
        || fail "no memory cgroup $slice_dir/$scope"
    note "memory.limit_in_bytes: $limit"
    [ "$limit" = 33554432 ] || fail "limit $limit, wanted 33554432"
    in_node cat "$slice_dir/$scope/cgroup.procs" | grep -q . || fail "the scope holds no process"

    ctl update --memory 67108864 "$container" >/dev/null
    limit=$(in_node cat "$slice_dir/$scope/memory.limit_in_bytes")
    note "after UpdateContainerResources: $limit"
    [ "$limit" = 67108864 ] || fail "limit $limit after the update, wanted 67108864"

    local usage
    usage=$(ctl stats -o json "$container" | json_get '[s for s in d["stats"]][0]["memory"]["workingSetBytes"]["value"]')
    note "stats: memory working set $usage bytes"
    [ "${usage:-0}" -gt 0 ] || fail "stats report no memory use"

    write_container_config hog 16777216 /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1
    local hog
    hog=$(ctl create "$pod" /var/tmp/hog.json /var/tmp/limitedpod.json)
    ctl start "$hog" || fail "starting the hog failed"
    wait_for 20 container_exited "$hog" || fail "the hog did not end"
    local reason
    reason=$(ctl inspect "$hog" | json_get 'd["status"]["reason"]')
    note "hog (16 MiB limit, 64 MiB buffer): exit $(ctl inspect "$hog" | json_get 'd["status"]["exitCode"]'), reason $reason"
    [ "$reason" = OOMKilled ] || fail "reason $reason, wanted OOMKilled"

    ctl stopp "$pod" >/dev/null
    ctl rmp "$pod" >/dev/null
    local units
    units=$(in_node systemctl list-units --all --no-legend 'berth-*.scope' | grep -F "$container" || true)
    [ -z "$units" ] || fail "scope left after the pod was removed: $units"
    in_node test ! -e "$slice_dir/$scope" || fail "$slice_dir/$scope left behind"
    in_node test ! -e "$slice_dir/berth-$pod" || fail "the pod's cgroup $slice_dir/berth-$pod left behind"
    note "after RemovePodSandbox: no scope, no pod cgroup; $slice: $(unit_prop "$slice" ActiveState)"
    rm -f "$ROOT/etc/berth/berth.conf.d/60-cgroup.conf"
}
