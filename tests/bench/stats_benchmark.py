#!/usr/bin/python3
"""Stats benchmark: the daemon CPU one ListContainerStats costs with N running
containers (the budget: well under 50 ms for 100).

Starts a berthd of its own in a temporary root, imports the busybox test
image (no registry needed), runs one pod with N `sleep` containers, then
calls ListContainerStats through `berthctl stats -o json -a` CALLS times and
reads berthd's utime+stime from /proc/PID/stat before and after. The same
number of `berthctl version` calls is measured as a baseline (connection and
a trivial RPC) and subtracted, so the figure is what the stats themselves
cost. ListPodSandboxStats is measured the same way.

Usage (as root, after a build): tests/bench/stats_benchmark.py
[--build build] [--containers 100] [--calls 50]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICKS = os.sysconf("SC_CLK_TCK")


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    sys.exit(f"stats_benchmark: {what} did not come up")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) is in parentheses and may hold spaces.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def measure(pid, command, calls):
    """Daemon CPU seconds and client wall seconds per call of `command`."""
    before = cpu_seconds(pid)
    start = time.monotonic()
    for _ in range(calls):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - start
    return (cpu_seconds(pid) - before) / calls, wall / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(SOURCE, "build"))
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    berthd = os.path.join(args.build, "daemon", "berthd")
    berthctl = os.path.join(args.build, "tools", "berthctl", "berthctl")
    for binary in (berthd, berthctl, os.path.join(args.build, "daemon", "berth-conmon")):
        if not os.access(binary, os.X_OK):
            sys.exit(f"stats_benchmark: {binary} missing: build first (make build)")

    work = tempfile.mkdtemp(prefix="berth-stats-bench-")
    # runc binds sockets below its root: it must stay short.
    runtime_root = f"/run/bsb{os.getpid()}"
    daemon = None
    ctl = None
    try:
        images = os.path.join(work, "images")
        built = json.loads(subprocess.run(
            ["/usr/bin/python3", os.path.join(SOURCE, "tests/fixtures/make_test_images.py"),
             images], check=True, capture_output=True, text=True).stdout)
        layout = os.path.join(images, built["busybox:multi"]["layout"])

        root = os.path.join(work, "berth")
        os.makedirs(os.path.join(root, "net.d"))
        with open(os.path.join(root, "berth.conf"), "w") as conf:
            conf.write(f'[berth]\nroot = "{root}/root"\nrunroot = "{root}/run"\n'
                       f'log_dir = "{root}/logs"\nlog_level = "warn"\n'
                       f'[berth.network]\nnetwork_dir = "{root}/net.d"\n'
                       f'[berth.runtime.runtimes.runc]\nruntime_root = "{runtime_root}/runc"\n')
        daemon = subprocess.Popen([berthd, "--config", f"{root}/berth.conf",
                                   "--config-dir", f"{root}/conf.d"],
                                  stdout=subprocess.DEVNULL, stderr=open(f"{root}/berthd.log", "w"))
        socket_path = f"{root}/run/berth.sock"
        wait_for(lambda: os.path.exists(socket_path), 20, "berthd")
        ctl = [berthctl, "-r", f"unix://{socket_path}", "-t", "60s"]

        imported = subprocess.run(ctl + ["image", "import", layout], check=True,
                                  capture_output=True, text=True).stdout.split()
        image_id = imported[1]  # "Imported <id> [tags]"
        pod_file = os.path.join(work, "pod.json")
        with open(pod_file, "w") as f:
            json.dump({"metadata": {"name": "bench", "namespace": "default", "uid": "bench-uid"},
                       "log_directory": f"{root}/logs/bench",
                       "linux": {"security_context": {"namespace_options": {"network": 2}}}}, f)
        pod = subprocess.run(ctl + ["runp", pod_file], check=True, capture_output=True,
                             text=True).stdout.strip()
        start = time.monotonic()
        for index in range(args.containers):
            container_file = os.path.join(work, f"c{index}.json")
            with open(container_file, "w") as f:
                json.dump({"metadata": {"name": f"c{index}"}, "image": {"image": image_id},
                           "command": ["sleep", "100000"], "log_path": f"c{index}.log"}, f)
            container = subprocess.run(ctl + ["create", "--no-pull", pod, container_file,
                                              pod_file], check=True, capture_output=True,
                                       text=True).stdout.strip()
            subprocess.run(ctl + ["start", container], check=True, stdout=subprocess.DEVNULL)
        print(f"{args.containers} containers running "
              f"(started in {time.monotonic() - start:.1f} s)")

        listed = json.loads(subprocess.run(ctl + ["stats", "-o", "json", "-a"], check=True,
                                           capture_output=True, text=True).stdout)
        running = [s for s in listed["stats"] if s.get("cpu", {}).get("usageCoreNanoSeconds")]
        if len(running) != args.containers:
            sys.exit(f"stats_benchmark: {len(running)} of {args.containers} containers have stats")

        baseline, baseline_wall = measure(daemon.pid, ctl + ["version"], args.calls)
        print(f"{'':34}{'daemon CPU ms':>14}{'net of baseline':>17}{'client wall ms':>16}")
        print(f"{'baseline (Version)':34}{baseline * 1000:14.2f}{'':>17}{baseline_wall * 1000:16.1f}")
        for name, command in (
                ("ListContainerStats", ["stats", "-o", "json", "-a"]),
                ("ListPodSandboxStats", ["statsp", "-o", "json"])):
            cost, wall = measure(daemon.pid, ctl + command, args.calls)
            print(f"{name + f' ({args.containers} containers)':34}{cost * 1000:14.2f}"
                  f"{(cost - baseline) * 1000:17.2f}{wall * 1000:16.1f}")
        print("target: ListContainerStats well under 50 ms of daemon CPU per call")
    finally:
        if ctl is not None and daemon is not None and daemon.poll() is None:
            subprocess.run(ctl + ["rmp", "-f", "-a"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if daemon is not None:
            daemon.terminate()
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        subprocess.run(["sh", "-c", f"[ -d {runtime_root}/runc ] && for c in $(runc --root "
                        f"{runtime_root}/runc list -q); do runc --root {runtime_root}/runc "
                        f"delete -f $c; done"], stderr=subprocess.DEVNULL)
        shutil.rmtree(runtime_root, ignore_errors=True)
        subprocess.run(["sh", "-c", f"grep -o ' {work}[^ ]*' /proc/self/mounts | sort -r | "
                        "xargs -r -n1 umount -l"], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
