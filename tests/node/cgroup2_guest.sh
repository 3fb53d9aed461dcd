#!/bin/bash
# Runs inside the VM of run_cgroup2_vm.sh, started at boot by
# berth-cgroup2-test.service (the VM powers off when it ends): the steps of
# cgroup2_steps.sh, one named PASS/FAIL line each, written to the second
# serial port (/dev/ttyS1), which the host shows. The last line,
# "cgroup2 vm tests: result N", is what the host reads.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=/dev/ttyS1
exec >"$OUT" 2>&1
stty -F "$OUT" raw -echo 2>/dev/null

# PREFIX, CRICTL, IMAGE_LAYOUT, written by the host.
. "$HERE/env"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
START_TIME=$(date +%s)
echo "cgroup2 vm: systemd up after $(cut -d' ' -f1 /proc/uptime) s of VM uptime; kernel $(uname -r)"

# A VM under software emulation: wait_for tries less often.
WAIT_FOR_INTERVAL=0.5
. "$HERE/step_runner.sh"
. "$HERE/cgroup2_steps.sh"

run_all_steps

echo
echo "cgroup2 vm tests: summary"
printf '  %s\n' "${SUMMARY[@]}"
status=0
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "cgroup2 vm tests: the last of berthd's journal:"
    journalctl -u berthd.service -n 60 --no-pager
    echo "cgroup2 vm tests: FAILED: ${FAILED[*]}"
    status=1
else
    echo "cgroup2 vm tests: all passed in $(( $(date +%s) - START_TIME )) s inside the VM"
fi
echo "cgroup2 vm tests: result $status"
sync
exit 0
