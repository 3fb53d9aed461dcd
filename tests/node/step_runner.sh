# shellcheck shell=bash
# The step runner both node tests use: sourced on the host by
# run_node_tests.sh (output to stderr) and inside the cgroup v2 VM by
# cgroup2_guest.sh (output to the serial port on stdout). STEP_OUTPUT is the
# fd everything here writes to (default 1), WAIT_FOR_INTERVAL the seconds
# between wait_for's tries (default 0.2).

FAILED=()
SUMMARY=()

# run_step NAME FUNCTION: one named check, run with `set -e` in a subshell:
# PASS, FAIL, or SKIP (exit status 77), with its time.
run_step() {
    local name=$1 function=$2 begin status seconds line
    begin=$(date +%s.%N)
    echo "=== step $name" >&"${STEP_OUTPUT:-1}"
    ( set -e; "$function" ) >&"${STEP_OUTPUT:-1}"
    status=$?
    seconds=$(awk -v b="$begin" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - b}')
    if [ "$status" -eq 0 ]; then
        line="PASS $name (${seconds} s)"
    elif [ "$status" -eq 77 ]; then
        line="SKIP $name (${seconds} s)"
    else
        line="FAIL $name (${seconds} s)"
        FAILED+=("$name")
    fi
    echo "$line" >&"${STEP_OUTPUT:-1}"
    SUMMARY+=("$line")
}

fail() { echo "  FAIL: $*" >&"${STEP_OUTPUT:-1}"; return 1; }
note() { echo "  $*" >&"${STEP_OUTPUT:-1}"; }

# wait_for SECONDS COMMAND...: true once COMMAND succeeds.
wait_for() {
    local deadline=$(( $(date +%s) + $1 ))
    shift
    while [ "$(date +%s)" -lt "$deadline" ]; do
        "$@" && return 0
        sleep "${WAIT_FOR_INTERVAL:-0.2}"
    done
    "$@"
}
