#!/usr/bin/python3
"""Lifecycle benchmark (`make bench`): berthd against containerd's CRI plugin
and against the raw OCI runtimes, side by side, on this machine.

Starts, each in a temporary directory of its own: a docker-registry on
127.0.0.1 holding a busybox image and a pause image built from busybox-static
(tests/fixtures/make_test_images.py); a berthd; and, when containerd is
installed, a containerd with its CRI plugin (runc v2 shim, cgroupfs,
restrict_oom_score_adj, the same CNI bridge configuration with its own
bridge and subnet, the registry as a plain-HTTP host). Both daemons have a
runtime handler `runc` and one `crun` (containerd: the runc v2 shim with
BinaryName runc or crun), and every berth-bench run names its handler.
Then:

  * times the floor: `runc run` and `crun run` of a busybox bundle running
    `true`, and `runc exec` of `true` into a running container; and the CNI
    chain's ADD and DEL run by hand against a fresh network namespace;
  * measures per-container monitor memory for the same container: berth-conmon
    against Debian's C conmon;
  * checks that each handler of each daemon really runs its runtime;
  * runs berth-bench once per handler against both daemons (containerd
    first: the ratios read berthd-runc / containerd-runc and berthd-crun /
    containerd-crun), and density;
  * prints the side-by-side tables and each target (docs/benchmarks.md), met or missed.

Everything it starts is stopped and removed at the end, also on Ctrl-C or a
failure: pods (through CRI), daemons, monitors and shims, runtime state,
mounts, bridges, iptables rules naming its subnets, directories.

Usage (as root, after a build): tests/bench/run_bench.py [--build build]
[--iterations 20] [--rounds 4] [--pods 100] [--concurrency 10] [--quick]
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(SOURCE, "tests", "fixtures")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
CRUN = shutil.which("crun")
CONTAINERD = shutil.which("containerd")
CONMON = shutil.which("conmon")
# containerd's runc shim: berthd's VM runtime path and containerd's own
# default runtime drive the very same binary, which makes the daemons' share
# of a VM pod's cost directly comparable.
SHIM_RUNC_V2 = shutil.which("containerd-shim-runc-v2")
CNI_BIN = "/usr/lib/cni"


def log(message):
    print(f"run_bench: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what, process=None, log_file=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.05)
    tail = ""
    if log_file and os.path.exists(log_file):
        with open(log_file, errors="replace") as f:
            tail = "".join(f.readlines()[-20:])
    raise RuntimeError(f"{what} did not come up\n{tail}")


def socket_answers(path):
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def run(argv, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run(argv, **kwargs)


def quiet(argv, timeout=60, report=False):
    """Runs a clean-up command; its failure is returned (and with `report`
    logged), never raised."""
    try:
        result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, timeout=timeout)
        if result.returncode != 0 and report:
            log(f"clean-up: {' '.join(argv)}: {result.stderr.strip()}")
        return result.returncode == 0
    except (OSError, subprocess.TimeoutExpired) as error:
        log(f"clean-up: {' '.join(argv)}: {error}")
        return False


def smaps_rollup(pid):
    figures = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                figures[parts[0][:-1]] = int(parts[1])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                figures["VmRSS"] = int(line.split()[1])
    figures["USS"] = figures.get("Private_Clean", 0) + figures.get("Private_Dirty", 0)
    return figures


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="berth-bench-")
        # runc binds sockets below its root: it must stay short (23 chars).
        self.short = f"/run/bb{os.getpid()}"
        os.makedirs(self.short, exist_ok=True)
        octet = 200 + os.getpid() % 50
        # "floor": the CNI chain run by hand (cni_floor).
        self.subnets = {"berth": f"10.{octet}.0.0/22", "containerd": f"10.{octet}.4.0/22",
                        "floor": f"10.{octet}.8.0/22"}
        self.bridges = {"berth": f"bb{os.getpid() % 100000}b",
                        "containerd": f"bb{os.getpid() % 100000}c",
                        "floor": f"bb{os.getpid() % 100000}f"}
        self.netns = []
        self.children = []
        self.results = {}
        self.berth_socket = os.path.join(self.work, "berth", "run", "berth.sock")
        self.containerd_socket = os.path.join(self.work, "ctrd", "containerd.sock")
        self.build = os.path.abspath(args.build)
        self.berthd = os.path.join(self.build, "daemon", "berthd")
        self.conmon = os.path.join(self.build, "daemon", "berth-conmon")
        self.berthctl = os.path.join(self.build, "tools", "berthctl", "berthctl")
        self.bench = os.path.join(self.build, "tools", "berth-bench", "berth-bench")
        self.out_dir = os.path.abspath(args.out or os.path.join(self.build, "bench-results"))

    # ------------------------------------------------------------ set-up
    @staticmethod
    def oci_handlers():
        """The handlers compared, by the name both daemons give them: berth-bench
        with several endpoints sends one --runtime-handler to all."""
        return [("runc", RUNC)] + ([("crun", CRUN)] if CRUN else [])

    def spawn(self, argv, log_name, **kwargs):
        # A session of its own: Ctrl-C in the terminal reaches this script
        # (and berth-bench), never the daemons that the clean-up still needs.
        out = open(os.path.join(self.work, log_name), "w")
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 start_new_session=True, **kwargs)
        self.children.append(child)
        return child

    def start_registry(self):
        port = free_port()
        config = os.path.join(self.work, "registry.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.work}/registry\n"
                    f"http:\n  addr: 127.0.0.1:{port}\n")
        self.spawn(["/usr/bin/docker-registry", "serve", config], "registry.log")
        self.registry = f"127.0.0.1:{port}"

        def up():
            try:
                return urllib.request.urlopen(f"http://{self.registry}/v2/", timeout=1).status == 200
            except OSError:
                return False
        wait_for(up, 20, "docker-registry")

    def push_images(self):
        """busybox (sh, sleep, true) and a pause image whose entrypoint sleeps,
        both from busybox-static through the test-image builder."""
        sys.dont_write_bytecode = True  # nothing written into the source tree
        sys.path.insert(0, FIXTURES)
        import make_test_images as images
        out = os.path.join(self.work, "images")
        builder = images.Builder(out)
        builder.image("busybox:1", [(images.layer1_entries(), "gzip")],
                      Cmd=["/bin/sh"], Env=[images.PATH_ENV])
        builder.image("pause:1", [(images.layer1_entries(), "gzip")],
                      Entrypoint=["/bin/sleep"], Cmd=["2147483647"], Env=[images.PATH_ENV])
        policy = os.path.join(self.work, "policy.json")
        with open(policy, "w") as f:
            f.write('{"default": [{"type": "insecureAcceptAnything"}]}')
        for name, entry in builder.result.items():
            run(["skopeo", "--policy", policy, "copy", "--quiet", "--preserve-digests",
                 "--dest-tls-verify=false", f"oci:{out}/{entry['layout']}:{entry['tag']}",
                 f"docker://{self.registry}/bench/{name}"])
        self.image = f"{self.registry}/bench/busybox:1"
        self.pause_image = f"{self.registry}/bench/pause:1"

    def cni_config(self, which, directory):
        with open(os.path.join(SOURCE, "contrib", "cni", "10-berth-bridge.conflist")) as f:
            conflist = json.load(f)
        conflist["name"] = f"berth-bench-{which}"
        bridge = conflist["plugins"][0]
        bridge["bridge"] = self.bridges[which]
        bridge["ipam"]["ranges"] = [[{"subnet": self.subnets[which]}]]
        bridge["ipam"]["dataDir"] = os.path.join(self.work, f"ipam-{which}")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "10-bench.conflist"), "w") as f:
            json.dump(conflist, f, indent=2)
        return conflist

    def start_berthd(self):
        root = os.path.join(self.work, "berth")
        os.makedirs(root)
        self.cni_config("berth", os.path.join(root, "net.d"))
        # Both handlers in full, whatever berthd's built-in ones and its
        # default handler are: every berth-bench run names its handler.
        runtimes = ""
        for name, binary in self.oci_handlers():
            runtimes += (f'[berth.runtime.runtimes.{name}]\nruntime_type = "oci"\n'
                         f'runtime_path = "{binary}"\nruntime_root = "{self.short}/{name}"\n')
        if SHIM_RUNC_V2:
            runtimes += (f'[berth.runtime.runtimes.shim]\nruntime_type = "vm"\n'
                         f'runtime_path = "{SHIM_RUNC_V2}"\n')
        with open(os.path.join(root, "berth.conf"), "w") as f:
            f.write(f'[berth]\nroot = "{root}/root"\nrunroot = "{root}/run"\n'
                    f'log_dir = "{root}/logs"\nlog_level = "warn"\n'
                    f'[berth.network]\nnetwork_dir = "{root}/net.d"\nplugin_dirs = ["{CNI_BIN}"]\n'
                    + runtimes)
        process = self.spawn([self.berthd, "--config", f"{root}/berth.conf",
                              "--config-dir", f"{root}/berth.conf.d"], "berthd.log")
        wait_for(lambda: socket_answers(self.berth_socket), 30, "berthd", process,
                 os.path.join(self.work, "berthd.log"))
        self.berthd_pid = process.pid
        time.sleep(1)  # settled: what it holds before any request
        self.results.setdefault("fresh", {})["berthd"] = smaps_rollup(process.pid)

    def start_containerd(self):
        root = os.path.join(self.work, "ctrd")
        os.makedirs(root)
        self.cni_config("containerd", os.path.join(root, "net.d"))
        hosts = os.path.join(root, "certs.d", self.registry)
        os.makedirs(hosts)
        with open(os.path.join(hosts, "hosts.toml"), "w") as f:
            f.write(f'server = "http://{self.registry}"\n\n[host."http://{self.registry}"]\n'
                    f'  capabilities = ["pull", "resolve"]\n')
        cri = '[plugins."io.containerd.grpc.v1.cri"'
        # The same shim driving crun: containerd's CRI and berthd then run
        # the same runtime for a handler of the same name.
        crun_runtime = "" if not CRUN else f"""{cri}.containerd.runtimes.crun]
  runtime_type = "io.containerd.runc.v2"
{cri}.containerd.runtimes.crun.options]
  BinaryName = "{CRUN}"
  Root = "{self.short}/cc"
  SystemdCgroup = false
"""
        with open(os.path.join(root, "config.toml"), "w") as f:
            f.write(f"""version = 2
root = "{root}/root"
state = "{root}/state"
oom_score = 0
[grpc]
  address = "{self.containerd_socket}"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
{cri}]
  sandbox_image = "{self.pause_image}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{root}/net.d"
{cri}.containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"
{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
{cri}.containerd.runtimes.runc.options]
  BinaryName = "{RUNC}"
  Root = "{self.short}/cd"
  SystemdCgroup = false
{crun_runtime}{cri}.containerd.runtimes.shim]
  runtime_type = "io.containerd.runc.v2"
{cri}.registry]
  config_path = "{root}/certs.d"
""")
        process = self.spawn([CONTAINERD, "--config", f"{root}/config.toml"], "containerd.log")
        wait_for(lambda: socket_answers(self.containerd_socket), 30, "containerd", process,
                 os.path.join(self.work, "containerd.log"))
        time.sleep(1)
        self.results.setdefault("fresh", {})["containerd"] = smaps_rollup(process.pid)

    # ------------------------------------------------------------ floors
    def make_bundle(self, name, args):
        bundle = os.path.join(self.work, "bundles", name)
        rootfs = os.path.join(bundle, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        for directory in ("proc", "dev", "sys", "tmp", "etc"):
            os.makedirs(os.path.join(rootfs, directory))
        shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
        for applet in ("sh", "true", "sleep"):
            os.symlink("busybox", os.path.join(rootfs, "bin", applet))
        run([RUNC, "spec"], cwd=bundle)
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
        spec["process"]["terminal"] = False
        spec["process"]["args"] = args
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f)
        return bundle

    def timed(self, argv, **kwargs):
        # stderr to a file, not a pipe: a detached container (runc create)
        # inherits it and would hold a pipe open for as long as it runs.
        with tempfile.TemporaryFile() as errors:
            start = time.monotonic()
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=errors, **kwargs)
            took = (time.monotonic() - start) * 1000
            if result.returncode != 0:
                errors.seek(0)
                raise subprocess.CalledProcessError(result.returncode, argv,
                                                    stderr=errors.read().decode(errors="replace"))
        return took

    @staticmethod
    def prepare_crun():
        """crun 1.8 refuses a cgroup v1 hybrid host while hugetlb sits on the
        v2 hierarchy; a v1 hugetlb hierarchy fixes it (MACHINE.md). Left
        mounted: tests running meanwhile may rely on it too."""
        with open("/proc/self/mountinfo") as f:
            if " /sys/fs/cgroup/hugetlb " in f.read() or not os.path.isdir("/sys/fs/cgroup/memory"):
                return True
        os.makedirs("/sys/fs/cgroup/hugetlb", exist_ok=True)
        if quiet(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", "/sys/fs/cgroup/hugetlb"]):
            return True
        log("cannot mount a v1 hugetlb hierarchy: crun is left out")
        return False

    def berth_spec_bundle(self):
        """A bundle with the OCI spec berthd generates for a container of the
        bench image (seccomp profile, capabilities, masked paths, cgroup
        path), on the floor's busybox rootfs with new namespaces and without
        the pod's bind mounts: what runc alone needs for a CRI container."""
        ctl = [self.berthctl, "-r", f"unix://{self.berth_socket}", "-t", "60s"]
        files = os.path.join(self.work, "spec-probe")
        os.makedirs(files)
        with open(os.path.join(files, "pod.json"), "w") as f:
            json.dump({"metadata": {"name": "spec-probe", "namespace": "berth-bench",
                                    "uid": "spec-probe"},
                       "linux": {"security_context": {"namespace_options": {"network": 2,
                                                                            "pid": 1}}}}, f)
        with open(os.path.join(files, "container.json"), "w") as f:
            json.dump({"metadata": {"name": "probe"}, "image": {"image": self.image},
                       "command": ["/bin/true"],
                       "linux": {"security_context": {"namespace_options": {"network": 2,
                                                                            "pid": 1}}}}, f)
        pod = run(ctl + ["runp", "-r", "runc", f"{files}/pod.json"], capture_output=True,
                  text=True).stdout.strip()
        try:
            cid = run(ctl + ["create", pod, f"{files}/container.json", f"{files}/pod.json"],
                      capture_output=True, text=True).stdout.strip()
            with open(os.path.join(self.work, "berth", "root", "containers", cid,
                                   "config.json")) as f:
                spec = json.load(f)
        finally:
            quiet(ctl + ["rmp", "-f", pod], report=True)
        bundle = self.make_bundle("berth-spec", ["/bin/true"])
        spec["root"] = {"path": os.path.join(bundle, "rootfs"), "readonly": False}
        spec["process"]["args"] = ["/bin/true"]
        spec["linux"]["namespaces"] = [{"type": n["type"]} for n in spec["linux"]["namespaces"]]
        spec["mounts"] = [m for m in spec["mounts"] if m.get("type") != "bind"]
        self.floor_cgroup = f"bbfloor{os.getpid()}"
        return bundle, spec

    def floors(self):
        n = self.args.floor_iterations
        bundle = self.make_bundle("true", ["/bin/true"])
        sleeper = self.make_bundle("sleep", ["/bin/sleep", "3600"])
        spec_bundle, spec = self.berth_spec_bundle()
        runc_root, crun_root = f"{self.short}/fr", f"{self.short}/fc"
        samples = {"runc run true": [], "crun run true": [], "runc exec true": [],
                   "crun exec true": [], "runc run true, Berth's spec": [],
                   "crun run true, Berth's spec": [], "runc create+start, Berth's spec": [],
                   "crun create+start, Berth's spec": []}

        def with_spec(runtime, i):
            spec["linux"]["cgroupsPath"] = f"/{self.floor_cgroup}/{runtime}{i}"
            with open(os.path.join(spec_bundle, "config.json"), "w") as f:
                json.dump(spec, f)
            root = runc_root if runtime == "runc" else crun_root
            binary = RUNC if runtime == "runc" else CRUN
            return self.timed([binary, "--root", root, "run", f"bbs{i}"], cwd=spec_bundle)

        def create_start(runtime, i):
            """What a CRI runtime does: create, then start (a sleeping
            container, killed and deleted afterwards, untimed)."""
            spec["linux"]["cgroupsPath"] = f"/{self.floor_cgroup}/{runtime}cs{i}"
            spec["process"]["args"] = ["/bin/sleep", "60"]
            with open(os.path.join(spec_bundle, "config.json"), "w") as f:
                json.dump(spec, f)
            spec["process"]["args"] = ["/bin/true"]
            root = runc_root if runtime == "runc" else crun_root
            binary = RUNC if runtime == "runc" else CRUN
            cid = f"bbcs{i}"
            took = self.timed([binary, "--root", root, "create", "--bundle", spec_bundle, cid])
            took += self.timed([binary, "--root", root, "start", cid])
            quiet([binary, "--root", root, "delete", "-f", cid], report=True)
            return took
        run([RUNC, "--root", runc_root, "run", "-d", "bbexec"], cwd=sleeper,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if CRUN:
            run([CRUN, "--root", crun_root, "run", "-d", "bbexec"], cwd=sleeper,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(n + 2):  # the first two are a warm-up
            figures = {
                "runc run true": self.timed([RUNC, "--root", runc_root, "run", f"bbf{i}"],
                                            cwd=bundle),
                "runc exec true": self.timed([RUNC, "--root", runc_root, "exec", "bbexec",
                                              "/bin/true"]),
                "runc run true, Berth's spec": with_spec("runc", i),
                "runc create+start, Berth's spec": create_start("runc", i),
            }
            if CRUN:
                figures["crun run true"] = self.timed([CRUN, "--root", crun_root, "run",
                                                       f"bbf{i}"], cwd=bundle)
                figures["crun exec true"] = self.timed([CRUN, "--root", crun_root, "exec",
                                                        "bbexec", "/bin/true"])
                figures["crun run true, Berth's spec"] = with_spec("crun", i)
                figures["crun create+start, Berth's spec"] = create_start("crun", i)
            if i >= 2:
                for key, value in figures.items():
                    samples[key].append(value)
        quiet([RUNC, "--root", runc_root, "delete", "-f", "bbexec"])
        if CRUN:
            quiet([CRUN, "--root", crun_root, "delete", "-f", "bbexec"])
        self.results.setdefault("floors", {}).update({k: v for k, v in samples.items() if v})

    def monitor_memory(self):
        """berth-conmon and Debian's conmon, each supervising the same
        busybox `sleep` container; USS/PSS from smaps_rollup, VmRSS."""
        count = 3
        root = f"{self.short}/mon"
        figures = {"berth-conmon": [], "conmon": []}
        base = os.path.join(self.work, "monitors")
        os.makedirs(os.path.join(base, "exits"))
        os.makedirs(os.path.join(base, "sock"))
        self.monitor_ids = []
        for i in range(count):
            for kind in ("berth-conmon", "conmon") if CONMON else ("berth-conmon",):
                cid = f"bbm{kind[0]}{i}"
                self.monitor_ids.append(cid)
                bundle = self.make_bundle(cid, ["/bin/sleep", "3600"])
                pidfile = os.path.join(base, f"{cid}.conmon.pid")
                if kind == "berth-conmon":
                    sync_path = os.path.join(base, f"{cid}.sync")
                    with open(sync_path, "w") as sync:
                        run([self.conmon, "--cid", cid, "--runtime", RUNC, "--runtime-root", root,
                             "--bundle", bundle, "--container-pidfile",
                             os.path.join(base, f"{cid}.pid"), "--conmon-pidfile", pidfile,
                             "--log-dir", base, "--log-path", os.path.join(base, f"{cid}.log"),
                             "--exit-file",
                             os.path.join(base, "exits", cid), "--attach-socket",
                             os.path.join(base, f"{cid}.attach"), "--ctl-fifo",
                             os.path.join(base, f"{cid}.ctl"), "--sync-fd", str(sync.fileno())],
                            pass_fds=(sync.fileno(),), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    wait_for(lambda: os.path.getsize(sync_path) > 0, 20, "berth-conmon sync")
                else:
                    run([CONMON, "--cid", cid, "--cuuid", cid, "-n", cid, "--runtime", RUNC,
                         "--runtime-arg", f"--root={root}", "--bundle", bundle,
                         "--container-pidfile", os.path.join(base, f"{cid}.pid"),
                         "--conmon-pidfile", pidfile, "--log-path",
                         os.path.join(base, f"{cid}.log"), "--exit-dir",
                         os.path.join(base, "exits"), "--socket-dir-path",
                         os.path.join(base, "sock")],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
                # conmon returns before its `runc create` is done: wait for
                # the container's pid file (written by create).
                wait_for(lambda: os.path.exists(os.path.join(base, f"{cid}.pid")), 20,
                         f"{kind}'s container")
                run([RUNC, "--root", root, "start", cid])
        time.sleep(1)  # both settle (buffers allocated, the container running)
        for cid in self.monitor_ids:
            kind = "berth-conmon" if cid[3] == "b" else "conmon"
            with open(os.path.join(base, f"{cid}.conmon.pid")) as f:
                figures[kind].append(smaps_rollup(int(f.read().strip())))
        for cid in self.monitor_ids:
            quiet([RUNC, "--root", root, "delete", "-f", cid])
        self.results["monitors"] = {
            kind: {"USS_kb": statistics.mean(v["USS"] for v in values),
                   "PSS_kb": statistics.mean(v.get("Pss", 0) for v in values),
                   "VmRSS_kb": statistics.mean(v["VmRSS"] for v in values)}
            for kind, values in figures.items() if values}

    def verify_handlers(self):
        """Runs a container through each handler of each daemon and asks the
        runtimes which of them owns it: runc keeps state.json, crun a status
        file, and neither reads the other's. A handler that ran the wrong
        runtime would make its comparison meaningless, so that fails the run."""
        ctl = [self.berthctl, "-t", "60s"]
        files = os.path.join(self.work, "handler-probe")
        os.makedirs(files, exist_ok=True)
        namespaces = {"network": 0, "pid": 1, "ipc": 0}
        daemons = [("berthd", self.berth_socket, lambda h: f"{self.short}/{h}")]
        if self.with_containerd:
            # The shim's Root, below which containerd keeps a directory per namespace.
            roots = {"runc": f"{self.short}/cd", "crun": f"{self.short}/cc"}
            daemons.append(("containerd", self.containerd_socket,
                            lambda h: f"{roots[h]}/k8s.io"))
        verified = {}
        for daemon, socket_path, root_of in daemons:
            for handler, _ in self.oci_handlers():
                name = f"probe-{daemon}-{handler}"
                with open(os.path.join(files, f"{name}.json"), "w") as f:
                    json.dump({"metadata": {"name": name, "namespace": "berth-bench",
                                            "uid": name},
                               "log_directory": files,
                               "linux": {"security_context": {
                                   "namespace_options": namespaces}}}, f)
                with open(os.path.join(files, f"{name}-ctr.json"), "w") as f:
                    json.dump({"metadata": {"name": "probe"}, "image": {"image": self.image},
                               "command": ["/bin/sleep", "60"], "log_path": f"{name}.log",
                               "linux": {"security_context": {
                                   "namespace_options": namespaces}}}, f)
                endpoint = ctl + ["-r", f"unix://{socket_path}"]
                pod = run(endpoint + ["runp", "-r", handler, f"{files}/{name}.json"],
                          capture_output=True, text=True).stdout.strip()
                try:
                    cid = run(endpoint + ["create", pod, f"{files}/{name}-ctr.json",
                                          f"{files}/{name}.json"],
                              capture_output=True, text=True).stdout.strip()
                    run(endpoint + ["start", cid], capture_output=True)
                    owners = [runtime for runtime, binary in self.oci_handlers()
                              if subprocess.run([binary, "--root", root_of(handler), "state",
                                                 cid], capture_output=True).returncode == 0]
                finally:
                    quiet(endpoint + ["rmp", "-f", pod], report=True)
                verified.setdefault(daemon, {})[handler] = owners
                if owners != [handler]:
                    raise RuntimeError(f"{daemon}'s handler {handler} ran its container with "
                                       f"{owners or 'no runtime found'} (state in "
                                       f"{root_of(handler)})")
        self.results["handlers"] = verified
        log("handlers verified: " + ", ".join(
            f"{d}/{h} runs {o[0]}" for d, hs in verified.items() for h, o in hs.items()))

    def cni_floor(self):
        """The CNI chain of the daemons' conflist (bridge with host-local,
        portmap, loopback; a bridge and subnet of its own) run by hand as a
        runtime runs it: ADD plugin by plugin into a fresh network namespace,
        each getting the previous result, then DEL in reverse order, each
        getting the final result. Both are timed; the namespace is made and
        removed outside the timing."""
        conflist = self.cni_config("floor", os.path.join(self.work, "floor-net.d"))
        count = max(3, self.args.floor_iterations // 4)
        samples = {"CNI ADD, bench conflist": [], "CNI DEL, bench conflist": []}

        def invoke(command, plugin, netns, cid, prev):
            config = dict(plugin, name=conflist["name"], cniVersion=conflist["cniVersion"])
            if prev is not None:
                config["prevResult"] = prev
            env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=cid,
                       CNI_NETNS=f"/run/netns/{netns}", CNI_IFNAME="eth0", CNI_PATH=CNI_BIN)
            result = subprocess.run([os.path.join(CNI_BIN, plugin["type"])],
                                    input=json.dumps(config), capture_output=True, text=True,
                                    env=env)
            if result.returncode != 0:
                raise RuntimeError(f"CNI {command} {plugin['type']}: "
                                   f"{result.stdout.strip()} {result.stderr.strip()}")
            return json.loads(result.stdout) if result.stdout.strip() else prev

        for i in range(count + 1):  # the first is a warm-up
            netns = f"bbcni{os.getpid()}x{i}"
            cid = f"bbcnifloor{os.getpid()}x{i}"
            run(["ip", "netns", "add", netns])
            self.netns.append(netns)
            try:
                start = time.monotonic()
                result = None
                for plugin in conflist["plugins"]:
                    result = invoke("ADD", plugin, netns, cid, result)
                added = (time.monotonic() - start) * 1000
                start = time.monotonic()
                for plugin in reversed(conflist["plugins"]):
                    invoke("DEL", plugin, netns, cid, result)
                deleted = (time.monotonic() - start) * 1000
            finally:
                quiet(["ip", "netns", "delete", netns], report=True)
                self.netns.remove(netns)
            if i > 0:
                samples["CNI ADD, bench conflist"].append(added)
                samples["CNI DEL, bench conflist"].append(deleted)
        self.results.setdefault("floors", {}).update(samples)

    # ------------------------------------------------------------ berth-bench
    def berth_bench(self, name, endpoints, extra):
        out = os.path.join(self.out_dir, f"{name}.json")
        argv = [self.bench, "-q", "--json", out, "--image", self.image] + extra
        for label, path in endpoints:
            argv += ["-r", f"{label}=unix://{path}"]
        log(f"{name}: {' '.join(shlex.quote(a) for a in argv)}")
        result = subprocess.run(argv)
        if result.returncode not in (0, 1):
            raise RuntimeError(f"berth-bench ({name}) exited with {result.returncode}")
        with open(out) as f:
            self.results[name] = json.load(f)
        self.results[name]["exit_code"] = result.returncode

    def suite(self):
        a = self.args
        endpoints = []
        if self.with_containerd:
            endpoints.append(("containerd", self.containerd_socket))
        endpoints.append(("berthd", self.berth_socket))
        common = ["-n", str(a.iterations), "--rounds", str(a.rounds), "-w", "2",
                  "--stop-timeout", "10"]
        # One run per handler, both daemons with the handler of that name:
        # berthd-runc against containerd-runc, berthd-crun against
        # containerd-crun. list and pull do not depend on the runtime.
        for handler, _ in self.oci_handlers():
            scenarios = "pod,container,scratch,exec" + (",list,pull" if handler == "runc" else "")
            self.berth_bench(f"suite-{handler}", endpoints,
                             common + ["-s", scenarios, "--runtime-handler", handler])
        if SHIM_RUNC_V2:
            # The VM path: both daemons drive containerd-shim-runc-v2.
            self.berth_bench("vm", endpoints,
                             common + ["-s", "pod,container,exec", "--runtime-handler", "shim"])
        if a.pods > 0:
            self.berth_bench("density", endpoints,
                             ["-s", "density", "--pods", str(a.pods), "-c", str(a.concurrency),
                              "--hold", "5", "--runtime-handler", "runc"])

    # ------------------------------------------------------------ summary
    def p50(self, name, scenario, endpoint, operation):
        document = self.results.get(name)
        if not document:
            return None
        for entry in document["scenarios"]:
            if entry["name"] != scenario:
                continue
            for result in entry["results"]:
                if result["endpoint"] == endpoint:
                    return result["operations"].get(operation, {}).get("p50_ms")
        return None

    def cpu_per_iteration(self, name, scenario, endpoint):
        """The daemon's CPU per timed iteration, ms: its own threads, and the
        children it waited for (berthd's runtime and CNI processes; a
        containerd runtime runs under its detached shim, not counted)."""
        document = self.results.get(name)
        for entry in (document or {}).get("scenarios", []):
            if entry["name"] != scenario:
                continue
            for result in entry["results"]:
                cpu = result.get("daemon_cpu_ms")
                if result["endpoint"] == endpoint and cpu and cpu["timed_iterations"] > 0:
                    return {"own": cpu["own"] / cpu["timed_iterations"],
                            "children": cpu["children"] / cpu["timed_iterations"]}
        return None

    # What each handler's comparison reports: (label, scenario, operation).
    HANDLER_COMPARISONS = [
        ("pod lifecycle (run+status+stop+remove)", "pod", "pod lifecycle (all four)"),
        ("CreateContainer+StartContainer", "container", "CreateContainer+StartContainer"),
        ("container lifecycle (all five)", "container", "container lifecycle (all five)"),
        ("scratch: pod to running container", "scratch", "scratch: pod to running container"),
        ("ExecSync", "exec", "ExecSync"),
        ("StopPodSandbox", "pod", "StopPodSandbox"),
    ]

    def handler_comparisons(self, floors):
        """Per handler: berthd's and containerd's p50 and their ratio for each
        comparison, and StopPodSandbox less the CNI DEL floor."""
        cni_del = floors.get("CNI DEL, bench conflist")
        handlers = {}
        for handler, _ in self.oci_handlers():
            name = f"suite-{handler}"
            if name not in self.results:
                continue
            entry = {"ratios": {}, "p50_ms": {}}
            for label, scenario, operation in self.HANDLER_COMPARISONS:
                berthd = self.p50(name, scenario, "berthd", operation)
                containerd = (self.p50(name, scenario, "containerd", operation)
                              if self.with_containerd else None)
                entry["p50_ms"][label] = {"berthd": berthd, "containerd": containerd}
                entry["ratios"][label] = (berthd / containerd if berthd is not None
                                          and containerd else None)
            entry["daemon_cpu_ms_per_iteration"] = {
                scenario: {daemon: self.cpu_per_iteration(name, scenario, daemon)
                           for daemon in ("berthd", "containerd")}
                for scenario in ("pod", "container", "exec")}
            stop = entry["p50_ms"]["StopPodSandbox"]
            entry["cni_del_floor_ms"] = cni_del
            for daemon in ("berthd", "containerd"):
                entry[f"{daemon}_stop_pod_minus_cni_del_ms"] = (
                    stop[daemon] - cni_del if stop[daemon] is not None and cni_del is not None
                    else None)
            handlers[handler] = entry
        return handlers

    @staticmethod
    def print_handler_comparisons(handlers):
        fmt = lambda v: "-" if v is None else f"{v:.2f}"
        for handler, entry in handlers.items():
            print(f"\n== berthd-{handler} / containerd-{handler} (p50 ms; both daemons' "
                  f"handler \"{handler}\") ==")
            print(f"  {'operation':42}{'containerd':>11}{'berthd':>10}{'ratio':>8}")
            for label, values in entry["p50_ms"].items():
                ratio = entry["ratios"][label]
                print(f"  {label:42}{fmt(values['containerd']):>11}{fmt(values['berthd']):>10}"
                      f"{'-' if ratio is None else f'{ratio:.2f}x':>8}")
            print(f"  {'StopPodSandbox less CNI DEL (' + fmt(entry['cni_del_floor_ms']) + ' ms)':42}"
                  f"{fmt(entry['containerd_stop_pod_minus_cni_del_ms']):>11}"
                  f"{fmt(entry['berthd_stop_pod_minus_cni_del_ms']):>10}")
            print("  daemon CPU per iteration, ms (own / children it waited for):")
            for scenario, daemons in entry["daemon_cpu_ms_per_iteration"].items():
                shown = [f"{daemon} {fmt(cpu['own'])} / {fmt(cpu['children'])}"
                         for daemon, cpu in daemons.items() if cpu is not None]
                print(f"    {scenario:10}{'; '.join(shown) or '-'}")

    def summary(self):
        rows = []
        floors = {k: statistics.median(v) for k, v in self.results.get("floors", {}).items()}

        def target(what, value, reference, limit, unit="ms", note=""):
            if value is None or reference is None or reference == 0:
                rows.append((what, value, reference, None, limit, "n/a", note))
                return
            ratio = value / reference
            rows.append((what, value, reference, ratio, limit,
                         "met" if ratio <= limit else "MISSED", note))

        ctr = self.with_containerd
        versus = lambda s, op: (self.p50("suite-runc", s, "berthd", op),
                                self.p50("suite-runc", s, "containerd", op) if ctr else None)
        target("RunPodSandbox vs containerd", *versus("pod", "RunPodSandbox"), 0.25)
        target("Create+Start (runc) vs runc run",
               self.p50("suite-runc", "container", "berthd", "CreateContainer+StartContainer"),
               floors.get("runc run true"), 1.2)
        target("Create+Start (crun) vs crun run",
               self.p50("suite-crun", "container", "berthd", "CreateContainer+StartContainer"),
               floors.get("crun run true"), 1.5)
        # The same, against runc/crun running the spec berthd generates (what
        # the runtime itself costs for a CRI container): for the analysis.
        target("(info) Create+Start (runc) vs Berth's spec",
               self.p50("suite-runc", "container", "berthd", "CreateContainer+StartContainer"),
               floors.get("runc run true, Berth's spec"), 1.2)
        target("(info) Create+Start (crun) vs Berth's spec",
               self.p50("suite-crun", "container", "berthd", "CreateContainer+StartContainer"),
               floors.get("crun run true, Berth's spec"), 1.5)
        target("(info) Create+Start (runc) vs create+start",
               self.p50("suite-runc", "container", "berthd", "CreateContainer+StartContainer"),
               floors.get("runc create+start, Berth's spec"), 1.2)
        target("(info) Create+Start (crun) vs create+start",
               self.p50("suite-crun", "container", "berthd", "CreateContainer+StartContainer"),
               floors.get("crun create+start, Berth's spec"), 1.5)
        target("scratch to running vs containerd",
               *versus("scratch", "scratch: pod to running container"), 0.3)
        target("ExecSync true vs runc exec", self.p50("suite-runc", "exec", "berthd", "ExecSync"),
               floors.get("runc exec true"), 1.3)
        for scenario, operation in [("pod", "PodSandboxStatus"), ("pod", "StopPodSandbox"),
                                    ("pod", "RemovePodSandbox"), ("container", "CreateContainer"),
                                    ("container", "StartContainer"),
                                    ("container", "ContainerStatus"),
                                    ("container", "StopContainer"),
                                    ("container", "RemoveContainer"),
                                    ("scratch", "scratch: teardown"),
                                    ("list", "ListPodSandbox"), ("list", "ListContainers"),
                                    ("pull", "PullImage"), ("pull", "RemoveImage")]:
            target(f"{operation} vs containerd", *versus(scenario, operation), 0.5)
        # VM path: the same containerd-shim-runc-v2 under both daemons; no
        # target set for it, shown for the analysis.
        for scenario, operation in [("pod", "RunPodSandbox"), ("pod", "StopPodSandbox"),
                                    ("pod", "RemovePodSandbox"),
                                    ("container", "CreateContainer+StartContainer"),
                                    ("container", "StopContainer"),
                                    ("container", "RemoveContainer"),
                                    ("exec", "ExecSync")]:
            target(f"(info) VM shim: {operation} vs containerd",
                   self.p50("vm", scenario, "berthd", operation),
                   self.p50("vm", scenario, "containerd", operation) if ctr else None, 1.0)

        handlers = self.handler_comparisons(floors)

        memory = []
        suite = self.results.get("suite-runc", {})
        idle = next((e["daemon_rss_kb_idle"] for e in suite.get("endpoints", [])
                     if e["label"] == "berthd"), None)
        fresh = self.results.get("fresh", {})
        if "berthd" in fresh:
            memory.append(("berthd RSS idle, just started", fresh["berthd"]["VmRSS"], 15 * 1024))
        memory.append(("berthd RSS idle, after the floors", idle, 15 * 1024))
        density = self.results.get("density", {})
        held = None
        for entry in density.get("scenarios", []):
            for result in entry["results"]:
                for one in result["figures"].get("runs", []):
                    if result["endpoint"] == "berthd":
                        held = one["daemon_rss_kb_held_max"]
                        self.berth_monitors = one.get("monitors", {})
        memory.append((f"berthd RSS with {self.args.pods} running containers", held, 40 * 1024))
        monitors = self.results.get("monitors", {})
        berth_mon, conmon = monitors.get("berth-conmon"), monitors.get("conmon")
        if berth_mon:
            memory.append(("berth-conmon VmRSS", berth_mon["VmRSS_kb"], 1024))
        if berth_mon and conmon:
            memory.append(("berth-conmon USS (limit: half of conmon's)", berth_mon["USS_kb"],
                           conmon["USS_kb"] / 2))

        print("\n== floors (median of %d, ms) ==" % self.args.floor_iterations)
        for key, value in floors.items():
            samples = self.results["floors"][key]
            print(f"  {key:33} {value:8.2f}   (min {min(samples):.2f}, max {max(samples):.2f})")
        if fresh:
            print("\n== daemons just started, idle (KiB: VmRSS, PSS, USS, anonymous) ==")
            for name, values in fresh.items():
                print(f"  {name:12} RSS {values['VmRSS']:7}   PSS {values.get('Pss', 0):7}"
                      f"   USS {values['USS']:7}   anonymous {values.get('Anonymous', 0):7}")
        if monitors:
            print("\n== monitor memory, same busybox sleep container (KiB, mean of 3) ==")
            for kind, values in monitors.items():
                print(f"  {kind:14} USS {values['USS_kb']:7.0f}   PSS {values['PSS_kb']:7.0f}"
                      f"   VmRSS {values['VmRSS_kb']:7.0f}")
        print("\n== targets (docs/benchmarks.md; p50 unless said) ==")
        print(f"  {'target':46}{'berthd':>10}{'reference':>11}{'ratio':>8}{'limit':>8}  result")
        for what, value, reference, ratio, limit, verdict, _ in rows:
            fmt = lambda v: "-" if v is None else f"{v:.2f}"
            print(f"  {what:46}{fmt(value):>10}{fmt(reference):>11}"
                  f"{'-' if ratio is None else f'{ratio:.2f}x':>8}{limit:>7}x  {verdict}")
        for what, value, limit in memory:
            verdict = "n/a" if value is None else ("met" if value <= limit else "MISSED")
            shown = "-" if value is None else f"{value / 1024:.1f} MiB"
            print(f"  {what:46}{shown:>12}   limit {limit / 1024:.1f} MiB  {verdict}")
        self.print_handler_comparisons(handlers)
        errors = {name: doc.get("errors", 0) for name, doc in self.results.items()
                  if isinstance(doc, dict) and "errors" in doc}
        if density:
            print("\n== density (target: zero errors; total time and per-pod p99) ==")
            for entry in density.get("scenarios", []):
                for result in entry["results"]:
                    ops = result["operations"]
                    for one in result["figures"].get("runs", []):
                        start = ops.get("pod start (run+create+start)", {})
                        down = ops.get("pod teardown (stop+remove)", {})
                        errors_here = sum(op.get("errors", 0) for op in ops.values())
                        print(f"  {result['endpoint']:12} {one['running_containers']}/"
                              f"{one['pods']} running, start {one['start_wall_s']:.2f} s "
                              f"(per pod p50 {start.get('p50_ms', 0):.0f} ms, p99 "
                              f"{start.get('p99_ms', 0):.0f} ms), teardown "
                              f"{one['teardown_wall_s']:.2f} s (p99 {down.get('p99_ms', 0):.0f}"
                              f" ms), errors {errors_here}")
        floor_rtt = {name: self.p50("suite-runc", "list", name, "Version (gRPC round-trip floor)")
                     for name in ("containerd", "berthd")}
        print("\ngRPC round trip (Version, p50 ms), the floor of the status and list calls: " +
              ", ".join(f"{k} {v:.2f}" for k, v in floor_rtt.items() if v is not None))
        print(f"\nberth-bench errors: {errors}")
        print(f"raw results: {self.out_dir}/*.json")
        with open(os.path.join(self.out_dir, "summary.json"), "w") as f:
            json.dump({"floors": self.results.get("floors"), "monitors": monitors,
                       "fresh": fresh, "handlers_verified": self.results.get("handlers"),
                       "handlers": handlers,
                       "targets": rows, "memory": memory, "errors": errors}, f, indent=2)
        return all(v == 0 for v in errors.values())

    # ------------------------------------------------------------ clean-up
    def cleanup(self):
        for name, path in (("berthd", self.berth_socket), ("containerd", self.containerd_socket)):
            if not socket_answers(path) or not os.access(self.berthctl, os.X_OK):
                continue
            # Through CRI first, so that CNI DEL releases addresses and rules.
            listing = subprocess.run([self.berthctl, "-r", f"unix://{path}", "pods", "-q"],
                                     capture_output=True, text=True)
            if listing.returncode != 0 or listing.stdout.strip():
                if not quiet([self.berthctl, "-r", f"unix://{path}", "-t", "120s",
                              "rmp", "-a", "-f"], timeout=300, report=True):
                    log(f"clean-up: removing {name}'s pods through CRI failed")
        for child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        # Monitors and shims of this run outlive their daemons by design.
        for pid in self.pids_naming(self.work + "/", self.short + "/"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for runtime in filter(None, (RUNC, CRUN)):
            for root in self.runtime_roots():
                listing = subprocess.run([runtime, "--root", root, "list", "-q"],
                                         capture_output=True, text=True)
                for cid in listing.stdout.split():
                    quiet([runtime, "--root", root, "delete", "-f", cid])
        for netns in self.netns:
            quiet(["ip", "netns", "delete", netns], report=True)
        self.unmount_below(self.work, self.short)
        # The parent cgroup of the floor's containers (theirs go with them).
        if getattr(self, "floor_cgroup", None):
            for hierarchy in os.listdir("/sys/fs/cgroup"):
                path = os.path.join("/sys/fs/cgroup", hierarchy, self.floor_cgroup)
                if os.path.isdir(path):
                    try:
                        os.rmdir(path)
                    except OSError as error:
                        log(f"clean-up: {path}: {error}")
        self.remove_iptables_rules()
        for bridge in self.bridges.values():
            quiet(["ip", "link", "delete", bridge])
        shutil.rmtree(self.short, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def runtime_roots(self):
        """The runc/crun roots below the short directory: its subdirectories,
        and containerd's per-namespace root below its own."""
        roots = []
        if os.path.isdir(self.short):
            for name in os.listdir(self.short):
                root = os.path.join(self.short, name)
                roots.append(root)
                if os.path.isdir(os.path.join(root, "k8s.io")):
                    roots.append(os.path.join(root, "k8s.io"))
        return roots

    @staticmethod
    def pids_naming(*needles):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except OSError:
                continue
            if any(needle in cmdline for needle in needles):
                pids.append(int(entry))
        return pids

    @staticmethod
    def unmount_below(*prefixes):
        for _ in range(3):
            with open("/proc/self/mountinfo") as f:
                points = [line.split()[4] for line in f]
            mine = [p for p in points if any(p == x or p.startswith(x + "/") for x in prefixes)]
            if not mine:
                return
            for point in sorted(set(mine), key=len, reverse=True):
                quiet(["umount", "-l", point])

    def remove_iptables_rules(self):
        needles = [s.rsplit(".", 2)[0] + "." for s in self.subnets.values()]
        needles += list(self.bridges.values())
        for table in ("nat", "filter", "mangle"):
            dump = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True)
            for line in dump.stdout.splitlines():
                if line.startswith("-A ") and any(n in line for n in needles):
                    quiet(["iptables", "-t", table, "-D"] + shlex.split(line)[1:])

    # ------------------------------------------------------------ main
    def main(self):
        os.makedirs(self.out_dir, exist_ok=True)
        log(f"work directory {self.work}, results in {self.out_dir}")
        self.start_registry()
        self.push_images()
        self.start_berthd()
        global CRUN
        if CRUN and not self.prepare_crun():
            CRUN = None
        self.with_containerd = bool(CONTAINERD) and not self.args.no_containerd
        if self.with_containerd:
            self.start_containerd()
        else:
            log("containerd is not installed (make bench-deps): berthd alone")
        log("floors: runc/crun run and exec, the CNI chain")
        self.floors()
        self.cni_floor()
        self.verify_handlers()
        log("monitor memory: berth-conmon and conmon")
        self.monitor_memory()
        self.suite()
        return self.summary()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(SOURCE, "build"))
    parser.add_argument("--out", help="where the JSON results go (default BUILD/bench-results)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--floor-iterations", type=int, default=20)
    parser.add_argument("--pods", type=int, default=100, help="density pods (0: no density)")
    parser.add_argument("--concurrency", type=int, default=10, help="density workers")
    parser.add_argument("--no-containerd", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 4 iterations, 2 rounds, 10 pods")
    args = parser.parse_args()
    if args.quick:
        args.iterations, args.rounds, args.floor_iterations, args.pods = 4, 2, 4, 10
    if os.geteuid() != 0:
        sys.exit("run_bench: needs root (containers, mounts, CNI)")
    bench = Bench(args)
    for binary in (bench.berthd, bench.conmon, bench.berthctl, bench.bench):
        if not os.access(binary, os.X_OK):
            sys.exit(f"run_bench: {binary} missing: build first (make build)")

    def terminate(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, terminate)
    ok = False
    try:
        ok = bench.main()
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
    except (RuntimeError, subprocess.CalledProcessError) as error:
        log(f"failed: {error}")
        if isinstance(error, subprocess.CalledProcessError) and error.stderr:
            log(error.stderr if isinstance(error.stderr, str) else error.stderr.decode())
        for name in ("berthd.log", "containerd.log"):
            path = os.path.join(bench.work, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    log(f"{name} (last lines):\n" + "".join(f.readlines()[-15:]))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up must finish
        bench.cleanup()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
