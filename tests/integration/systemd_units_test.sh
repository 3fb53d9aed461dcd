#!/bin/sh
# Verifies the systemd units with systemd-analyze, pointing ExecStart at the
# berthd just built (the installed path does not exist on a build machine).
set -eu
units_dir=$1
berthd=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze is not installed" >&2
    exit 77
fi

sed "s|^ExecStart=.*|ExecStart=$berthd|" "$units_dir/berthd.service" > "$work/berthd.service"
cp "$units_dir/berthd.socket" "$work/berthd.socket"

grep -q '^Type=notify$' "$work/berthd.service"
grep -q '^KillMode=process$' "$work/berthd.service"
grep -q '^Delegate=yes$' "$work/berthd.service"
grep -q '^ListenStream=/run/berth/berth.sock$' "$work/berthd.socket"

# systemd-analyze prints problems and exits non-zero on errors; with no
# systemd running as PID 1 it may still warn about the manager, which is not
# about our units, so only lines naming our files count.
output=$(cd "$work" && systemd-analyze verify --man=no ./berthd.socket ./berthd.service 2>&1) || status=$?
status=${status:-0}
problems=$(printf '%s\n' "$output" | grep -E 'berthd\.(service|socket)' || true)
if [ "$status" -ne 0 ] || [ -n "$problems" ]; then
    printf '%s\n' "$output" >&2
    echo "systemd-analyze verify failed (status $status)" >&2
    exit 1
fi
echo "systemd units verified"
