#!/usr/bin/python3
"""Pull benchmark: berthd pulling a large multi-layer image from a local
registry, against `skopeo copy` of the same image to a directory (the floor:
the same bytes over the same loopback, verified, with no unpacking).

Rounds alternate between the two so that machine drift hits both alike.
Reports wall-time medians, their ratio, and berthd's RSS growth during a pull
(VmHWM after the pull minus VmRSS before it, with the high-water mark reset
through /proc/PID/clear_refs before each pull).

Usage (as root, after a build): tests/bench/pull_benchmark.py [--build build]
[--size-mib 100] [--rounds 5]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    sys.exit(f"pull_benchmark: {what} did not come up")


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    raise KeyError(field)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(SOURCE, "build"))
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    berthd = os.path.join(args.build, "daemon", "berthd")
    berthctl = os.path.join(args.build, "tools", "berthctl", "berthctl")
    for binary in (berthd, berthctl):
        if not os.access(binary, os.X_OK):
            sys.exit(f"pull_benchmark: {binary} missing: build first (make build)")

    work = tempfile.mkdtemp(prefix="berth-pull-bench-")
    children = []
    try:
        port = free_port()
        registry_config = os.path.join(work, "registry.yml")
        with open(registry_config, "w") as config:
            config.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                         f"storage:\n  filesystem:\n    rootdirectory: {work}/registry\n"
                         f"http:\n  addr: 127.0.0.1:{port}\n")
        children.append(subprocess.Popen(["/usr/bin/docker-registry", "serve", registry_config],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        registry = f"127.0.0.1:{port}"

        def registry_up():
            try:
                return urllib.request.urlopen(f"http://{registry}/v2/", timeout=1).status == 200
            except OSError:
                return False
        wait_for(registry_up, 20, "docker-registry")

        images = os.path.join(work, "images")
        built = json.loads(subprocess.run(
            ["/usr/bin/python3", os.path.join(SOURCE, "tests/fixtures/make_test_images.py"),
             "--big", str(args.size_mib), images], check=True, capture_output=True, text=True).stdout)
        entry = built["big:1"]
        total = sum(entry["layer_sizes"])
        policy = os.path.join(work, "policy.json")
        with open(policy, "w") as f:
            f.write('{"default": [{"type": "insecureAcceptAnything"}]}')
        subprocess.run(["skopeo", "--policy", policy, "copy", "--quiet", "--preserve-digests",
                        "--dest-tls-verify=false", f"oci:{images}/{entry['layout']}:1",
                        f"docker://{registry}/big:1"], check=True)

        root = os.path.join(work, "berth")
        os.makedirs(os.path.join(root, "net.d"))
        with open(os.path.join(root, "berth.conf"), "w") as conf:
            conf.write(f'[berth]\nroot = "{root}/root"\nrunroot = "{root}/run"\nlog_level = "warn"\n'
                       f'[berth.network]\nnetwork_dir = "{root}/net.d"\n')
        daemon = subprocess.Popen([berthd, "--config", f"{root}/berth.conf", "--config-dir", f"{root}/conf.d"],
                                  stdout=subprocess.DEVNULL, stderr=open(f"{root}/berthd.log", "w"))
        children.append(daemon)
        socket_path = f"{root}/run/berth.sock"
        wait_for(lambda: os.path.exists(socket_path), 20, "berthd")
        ctl = [berthctl, "-r", f"unix://{socket_path}"]

        floor_times, berth_times, rss_growth = [], [], []
        for _ in range(args.rounds):
            target = os.path.join(work, "copy")
            shutil.rmtree(target, ignore_errors=True)
            start = time.monotonic()
            subprocess.run(["skopeo", "--policy", policy, "copy", "--quiet", "--src-tls-verify=false",
                            f"docker://{registry}/big:1", f"dir:{target}"], check=True)
            floor_times.append(time.monotonic() - start)

            with open(f"/proc/{daemon.pid}/clear_refs", "w") as clear:
                clear.write("5")  # resets VmHWM to the current RSS
            before = proc_status(daemon.pid, "VmRSS")
            start = time.monotonic()
            subprocess.run(ctl + ["pull", f"{registry}/big:1"], check=True, stdout=subprocess.DEVNULL)
            berth_times.append(time.monotonic() - start)
            rss_growth.append(proc_status(daemon.pid, "VmHWM") - before)
            subprocess.run(ctl + ["rmi", f"{registry}/big:1"], check=True, stdout=subprocess.DEVNULL)

        floor, berth = statistics.median(floor_times), statistics.median(berth_times)
        print(f"image: {len(entry['layers'])} layers, {total / 2**20:.1f} MiB compressed, {args.rounds} rounds")
        print(f"{'':24}{'median s':>10}{'min s':>10}{'max s':>10}")
        print(f"{'skopeo copy (floor)':24}{floor:10.3f}{min(floor_times):10.3f}{max(floor_times):10.3f}")
        print(f"{'berthd PullImage':24}{berth:10.3f}{min(berth_times):10.3f}{max(berth_times):10.3f}")
        print(f"ratio berthd / floor: {berth / floor:.2f}x (target <= 1.3x)")
        print(f"berthd RSS growth during a pull: median {statistics.median(rss_growth) / 1024:.1f} MiB, "
              f"max {max(rss_growth) / 1024:.1f} MiB (target < 20 MiB)")
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
