#!/usr/bin/env python3
"""Switches between two vhost-user ports: kvmkit-switchd vs Open vSwitch (DPDK) vs dpdk-testpmd.

Topology (2 cores), as bench/pkt/compare.py: build/bench/pkt_gen on CPU 0 is
traffic source and sink (two vhost-user frontends, kvmkit's lib/virtio
frontend like DPDK's virtio-user; the switch is the vhost-user server of
both ports): source -> port 1 -> switch -> port 2 -> sink. The switch's one
forwarding thread has CPU 1 alone; its other threads run on CPU 0.

Switches:
  kvmkit   build/apps/kvmkit-switchd --rpc SOCK --config FILE --pmd-cpus 1
           --busy-poll; bridge br0 with ports p1, p2 (type=vhost-user,
           options:path=...), flows through `kvmkit ofctl add-flows`,
           counters from `kvmkit appctl dpif-netdev/pmd-stats-show --json`.
           Skipped (with a message) while build/apps/kvmkit-switchd does not exist.
  ovs      Open vSwitch 3.1 with DPDK 22.11 (Debian's ovs-vswitchd-dpdk), a
           private instance started by tests/lib/ovs.sh in its own network
           namespace: dpdk-init=true, pmd-cpu-mask=0x2, dpdk-lcore-mask=0x1,
           hugepages (2 MiB pages, hugetlbfs mounted for the run); bridge
           datapath_type=netdev, ports type=dpdkvhostuser (sockets in the
           instance's rundir), flows through `ovs-ofctl add-flows`, counters
           from `ovs-appctl dpif-netdev/pmd-stats-show`.
  testpmd  dpdk-testpmd io forwarding between two net_vhost ports (the raw
           rate with no switching), forwarding lcore 1, --record-core-cycles.

Cases (each at every --sizes):
  normal            the bridge's one flow actions=NORMAL (MAC learning; pkt_gen
                    announces the sink's MAC from port 2), 1 traffic flow
  port              one flow in_port=1,actions=output:2, 1 traffic flow
  rR-fN             R OpenFlow rules, traffic of N distinct flows:
                      rule j < R: priority=10,udp,in_port=1,nw_src=A(j),tp_src=P(j),
                                  actions=output:2
                      catch-all:  priority=1,in_port=1,actions=output:2
                    where traffic flow i is IPv4 source A(i) = 10.0.0.1 + i, UDP
                    source port P(i) = 10000 + i % 50000 (pkt_gen --flows). The
                    traffic hits min(R, N) rules exactly, one flow each; flows
                    i >= R take the catch-all. R in 1, 100, 1000, 10000, 100000;
                    N in 1, 1000, 10000.
testpmd sees the same traffic (it looks at no header).

Each run: the switch starts fresh, flows go in, the switch settles (its
threads other than the forwarding one stay under 10% of a CPU for 1.5 s:
kvmkit-switchd writes the rules to its configuration file a second after
the last change, 0.5 s of CPU for 100,000 rules, and that CPU is pkt_gen's),
pkt_gen sends --warmup
seconds (caches fill), the switch's counters are cleared (OVS) or read
(kvmkit), then --seconds are counted. Switches alternate case by case for
--rounds rounds; figures are medians. Metrics: Mpps at the sink; the
forwarding thread's busy cycles per packet (OVS: "avg processing cycles per
packet", TSC cycles of PMD iterations that had packets; testpmd: "CPU
cycles/packet" of --record-core-cycles; kvmkit: busy_cycles / packets);
cache hit rates (EMC, SMC, megaflow, upcalls per packet).

Output: bench/results/switch.json and switch.md (--json / --md).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
import benchlib  # noqa: E402

OVS_LIB = os.path.join(ROOT, "tests", "lib", "ovs.sh")
PKT_GEN = os.path.join(ROOT, "build", "bench", "pkt_gen")
SWITCHD = os.path.join(ROOT, "build", "apps", "kvmkit-switchd")
KVMKIT = os.path.join(ROOT, "build", "apps", "kvmkit")
OVS_DPDK = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
RULES = (1, 100, 1000, 10000, 100000)
FLOWS = (1, 1000, 10000)
SWITCHES = ("testpmd", "ovs", "kvmkit")
KVMKIT_EXTRA = []  # --kvmkit-args
HUGEPAGES = 512  # 2 MiB pages for OVS-DPDK


def all_cases():
    cases = ["normal", "port"]
    cases += ["r%d-f%d" % (r, n) for r in RULES for n in FLOWS]
    return cases


def parse_case(case):
    """(rules, traffic flows) of @case; rules None for normal/port."""
    if case in ("normal", "port"):
        return None, 1
    m = re.fullmatch(r"r(\d+)-f(\d+)", case)
    if not m:
        raise ValueError("unknown case %r (normal, port, rR-fN)" % case)
    return int(m.group(1)), int(m.group(2))


def flow_addr(i):
    a = 0x0A000001 + i
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)


def flow_port(i):
    return 10000 + i % 50000


def write_flows(case, path):
    """Write @case's OpenFlow rules (ovs-ofctl add-flows syntax) to @path."""
    rules, _ = parse_case(case)
    with open(path, "w") as f:
        if case == "normal":
            f.write("priority=0,actions=NORMAL\n")
        elif case == "port":
            f.write("in_port=1,actions=output:2\n")
        else:
            for j in range(rules):
                f.write("priority=10,udp,in_port=1,nw_src=%s,tp_src=%d,actions=output:2\n"
                        % (flow_addr(j), flow_port(j)))
            f.write("priority=1,in_port=1,actions=output:2\n")


def sh(cmd, env=None, timeout=300, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout,
                                                      r.stderr))
    return r


def wait_paths(paths, seconds=30):
    for _ in range(int(seconds * 20)):
        if all(os.path.exists(p) for p in paths):
            return True
        time.sleep(0.05)
    return False


# --- hugepages for OVS-DPDK ---------------------------------------------------

class Hugepages:
    """2 MiB hugepages and a private hugetlbfs mount for the run; undone at exit."""

    NR = "/proc/sys/vm/nr_hugepages"

    def __init__(self, mount):
        self.mount = mount
        self.before = None
        self.set_to = None
        self.mounted = False

    def setup(self):
        with open(self.NR) as f:
            self.before = int(f.read())
        free = self._meminfo("HugePages_Free")
        if free < HUGEPAGES:
            self.set_to = self.before + HUGEPAGES - free
            with open(self.NR, "w") as f:
                f.write("%d\n" % self.set_to)
            if self._meminfo("HugePages_Free") < HUGEPAGES:
                raise RuntimeError("could not reserve %d hugepages (memory fragmented?)"
                                   % HUGEPAGES)
        os.makedirs(self.mount, exist_ok=True)
        sh(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", self.mount])
        self.mounted = True

    def teardown(self):
        if self.mounted:
            sh(["umount", self.mount], check=False)
            self.mounted = False
        # Give the pages back unless someone changed the count meanwhile.
        if self.set_to is not None:
            with open(self.NR) as f:
                now = int(f.read())
            if now == self.set_to:
                with open(self.NR, "w") as f:
                    f.write("%d\n" % self.before)
            self.set_to = None

    @staticmethod
    def _meminfo(key):
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0


# --- the switches ----------------------------------------------------------------

class Testpmd:
    name = "testpmd"

    def __init__(self, tmp):
        self.tmp = tmp
        self.p1, self.p2 = os.path.join(tmp, "tp1.sock"), os.path.join(tmp, "tp2.sock")
        self.proc = None

    def start(self, case, flows_file):
        for p in (self.p1, self.p2):
            if os.path.exists(p):
                os.unlink(p)
        self.proc = subprocess.Popen(
            ["dpdk-testpmd", "--no-huge", "-m", "1024", "--no-pci", "-l", "0-1",
             "--file-prefix", "kvmkit-sw-%d" % os.getpid(),
             "--vdev", "net_vhost0,iface=" + self.p1, "--vdev", "net_vhost1,iface=" + self.p2,
             "--", "-i", "--total-num-mbufs=32768", "--forward-mode=io", "--auto-start",
             "--record-core-cycles"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if not wait_paths((self.p1, self.p2)):
            raise RuntimeError("dpdk-testpmd made no vhost-user sockets")
        return self.p1, self.p2

    def counting(self):
        pass

    def pids(self):
        return []  # nothing but forwarding

    def stop(self):
        stats = {}
        if not self.proc:
            return stats
        try:
            out, _ = self.proc.communicate(b"show fwd stats all\nquit\n", timeout=30)
            m = re.search(r"CPU cycles/packet=([0-9.]+)", out.decode(errors="replace"))
            if m:
                stats["cycles_per_packet"] = float(m.group(1))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        return stats


def parse_ovs_pmd_stats(text):
    """The PMD threads' counters from `ovs-appctl dpif-netdev/pmd-stats-show`."""
    keys = {"packets received": "packets", "simple match hits": "simple_hits",
            "emc hits": "emc_hits", "smc hits": "smc_hits",
            "megaflow hits": "megaflow_hits", "miss with success upcall": "upcalls",
            "miss with failed upcall": "failed_upcalls", "processing cycles": "busy_cycles"}
    total, in_pmd = {}, False
    for line in text.splitlines():
        if not line.startswith(" "):
            in_pmd = line.startswith("pmd thread")
            continue
        if not in_pmd:
            continue
        k, _, v = line.strip().partition(":")
        if k in keys:
            total[keys[k]] = total.get(keys[k], 0) + int(v.split()[0])
    return total


def hit_rates(c):
    """Per-packet rates and cycles/packet from summed counters @c."""
    pkts = c.get("packets", 0)
    if not pkts:
        return {}
    r = {"cycles_per_packet": round(c["busy_cycles"] / pkts, 1) if "busy_cycles" in c else None}
    for k in ("simple_hits", "emc_hits", "smc_hits", "megaflow_hits", "upcalls"):
        if k in c:
            r[k.replace("_hits", "") + "_rate"] = round(c[k] / pkts, 4)
    return r


class Ovs:
    name = "ovs"

    def __init__(self, tmp, hugepage_dir):
        self.dir = os.path.join(tmp, "ovs")
        self.hugepage_dir = hugepage_dir
        self.netns = "kksw%d" % os.getpid()
        self.env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_DBDIR=self.dir,
                        OVS_LOGDIR=self.dir, OVS_SYSCONFDIR=self.dir,
                        OVS_PKGDATADIR="/usr/share/openvswitch")
        self.netns_made = False

    def lib(self, script, *args, env=None, timeout=300):
        return sh(["bash", "-c", ". '%s' && %s" % (OVS_LIB, script), "ovs", *args],
                  env=env or self.env, timeout=timeout)

    def start(self, case, flows_file):
        if not self.netns_made:
            # Its own network namespace: the userspace datapath's tap devices
            # then meet no other Open vSwitch's.
            sh(["ip", "netns", "add", self.netns])
            self.netns_made = True
        env = dict(self.env, OVS_NETNS=self.netns, OVS_VSWITCHD_CPUS="0")
        self.lib('ovs_start "$1" dpdk-init=true pmd-cpu-mask=0x2 dpdk-lcore-mask=0x1 '
                 'dpdk-hugepage-dir="$2" dpdk-socket-mem=512 '
                 '"dpdk-extra=--file-prefix=kvmkit-sw-ovs-$3 --no-pci"',
                 self.dir, self.hugepage_dir, str(os.getpid()), env=env)
        sh(["ovs-vsctl", "--timeout=60", "add-br", "br0", "--", "set", "bridge", "br0",
            "datapath_type=netdev",
            "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dpdkvhostuser",
            "ofport_request=1",
            "--", "add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=dpdkvhostuser",
            "ofport_request=2"], env=self.env)
        sh(["ovs-ofctl", "del-flows", "br0"], env=self.env)
        sh(["ovs-ofctl", "add-flows", "br0", flows_file], env=self.env, timeout=600)
        # dpdkvhostuser sockets are named after the port, in the rundir.
        p1, p2 = os.path.join(self.dir, "p1"), os.path.join(self.dir, "p2")
        if not wait_paths((p1, p2)):
            raise RuntimeError("OVS made no vhost-user sockets in %s" % self.dir)
        return p1, p2

    def counting(self):
        sh(["ovs-appctl", "dpif-netdev/pmd-stats-clear"], env=self.env)

    def pids(self):
        try:
            with open(os.path.join(self.dir, "ovs-vswitchd.pid")) as f:
                return [int(f.read().strip())]
        except (OSError, ValueError):
            return []

    def stop(self):
        stats = {}
        try:
            out = sh(["ovs-appctl", "dpif-netdev/pmd-stats-show"], env=self.env).stdout
            counters = parse_ovs_pmd_stats(out)
            stats.update(hit_rates(counters))
            stats["counters"] = counters
            stats["megaflows"] = len([ln for ln in sh(
                ["ovs-appctl", "dpctl/dump-flows", "netdev@ovs-netdev"],
                env=self.env).stdout.splitlines() if ln.strip()])
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print("ovs: no counters: %s" % e, file=sys.stderr)
        finally:
            self.lib('ovs_stop "$1"', self.dir)
        return stats

    def close(self):
        if self.netns_made:
            sh(["ip", "netns", "del", self.netns], check=False)
            self.netns_made = False


def kvmkit_counters(doc):
    """Sum the per-PMD counters found anywhere in kvmkit appctl's JSON @doc."""
    total = {}

    def walk(x):
        if isinstance(x, dict):
            if "packets" in x and isinstance(x["packets"], (int, float)):
                for k in ("packets", "simple_hits", "emc_hits", "mfc_hits", "upcalls",
                          "busy_cycles"):
                    if isinstance(x.get(k), (int, float)):
                        total[k] = total.get(k, 0) + x[k]
                return
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    return total


class Kvmkit:
    name = "kvmkit"

    def __init__(self, tmp):
        self.tmp = tmp
        self.rpc = os.path.join(tmp, "switchd.sock")
        self.proc = None
        self.before = {}

    def ctl(self, *args, timeout=120):
        return sh([KVMKIT, args[0], "-s", self.rpc, *args[1:]], timeout=timeout)

    def start(self, case, flows_file):
        config = os.path.join(self.tmp, "switchd.conf")
        for p in (self.rpc, config, os.path.join(self.tmp, "k1.sock"),
                  os.path.join(self.tmp, "k2.sock")):
            if os.path.exists(p):
                os.unlink(p)
        self.log = open(os.path.join(self.tmp, "switchd.log"), "w")
        self.proc = subprocess.Popen(["taskset", "-c", "0", SWITCHD, "--rpc", self.rpc,
                                      "--config", config, "--pmd-cpus", "1", "--busy-poll",
                                      *KVMKIT_EXTRA],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_paths((self.rpc,)):
            raise RuntimeError("kvmkit-switchd made no RPC socket (log: %s)" % self.log.name)
        p1, p2 = os.path.join(self.tmp, "k1.sock"), os.path.join(self.tmp, "k2.sock")
        self.ctl("vsctl", "add-br", "br0")
        # Ports are numbered 1 and 2 in the order added (as in OVS).
        self.ctl("vsctl", "add-port", "br0", "p1", "type=vhost-user", "options:path=" + p1)
        self.ctl("vsctl", "add-port", "br0", "p2", "type=vhost-user", "options:path=" + p2)
        self.ctl("ofctl", "del-flows", "br0")
        self.ctl("ofctl", "add-flows", "br0", flows_file, timeout=600)
        if not wait_paths((p1, p2)):
            raise RuntimeError("kvmkit-switchd made no vhost-user sockets")
        return p1, p2

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def read(self):
        out = self.ctl("appctl", "--json", "dpif-netdev/pmd-stats-show").stdout
        return kvmkit_counters(json.loads(out))

    def counting(self):
        self.before = self.read()

    def stop(self):
        stats = {}
        if not self.proc:
            return stats
        try:
            after = self.read()
            c = {k: v - self.before.get(k, 0) for k, v in after.items()}
            simple = c.get("simple_hits")
            if simple is None:
                # A daemon whose pmd-stats-show lacks simple_hits: every packet is
                # counted once, as a simple-match, EMC or megaflow hit or an upcall.
                simple = max(0, c.get("packets", 0) - c.get("emc_hits", 0)
                             - c.get("mfc_hits", 0) - c.get("upcalls", 0))
            stats.update(hit_rates({"packets": c.get("packets", 0),
                                    "busy_cycles": c.get("busy_cycles"),
                                    "simple_hits": simple,
                                    "emc_hits": c.get("emc_hits", 0),
                                    "megaflow_hits": c.get("mfc_hits", 0),
                                    "upcalls": c.get("upcalls", 0)}))
            stats["counters"] = c
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            print("kvmkit: no counters: %s" % e, file=sys.stderr)
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()
        return stats


# --- settling ---------------------------------------------------------------------

def control_ticks(pids):
    """CPU time (clock ticks) of every thread of @pids but the forwarding ones."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            if comm.startswith("pmd"):  # kvmkit's pmd0, OVS's pmd-c01/id:..
                continue
            fields = st[st.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def settle(pids, window=1.5, limit=60.0):
    """Wait until the switch's non-forwarding threads have used under 10%
    of a CPU for @window seconds (its control plane is done with the rules
    just added: kvmkit-switchd writes them to its configuration file a
    second after the last change; OVS revalidates). Returns the seconds
    waited."""
    if not pids:
        return 0.0
    hz = os.sysconf("SC_CLK_TCK")
    start = time.time()
    samples = [(start, control_ticks(pids))]
    while time.time() - start < limit:
        time.sleep(0.25)
        now = time.time()
        samples.append((now, control_ticks(pids)))
        old = [x for x in samples if now - x[0] >= window]
        if old:
            t0, c0 = old[-1]
            if (samples[-1][1] - c0) / hz < 0.1 * (now - t0):
                return now - start
    return time.time() - start


# --- one run ----------------------------------------------------------------------

def run_one(switch, case, size, args, flows_file):
    _, nflows = parse_case(case)
    gen = None
    try:
        p1, p2 = switch.start(case, flows_file)
        settle(switch.pids())
        gen = subprocess.Popen([PKT_GEN, "--in", p1, "--out", p2, "--size", str(size),
                                "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                                "--flows", str(nflows), "--cpu", "0"]
                               + (["--huge"] if args.guest_memory == "huge" else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # pkt_gen says when the warm-up is over; the counters start there.
        if args.warmup > 0:
            gen.stdout.readline()
        switch.counting()
        out, err = gen.communicate(timeout=args.seconds + args.warmup + 120)
    finally:
        if gen and gen.poll() is None:
            gen.kill()
            gen.wait()
        stats = switch.stop()
    if gen.returncode != 0:
        raise RuntimeError("pkt_gen failed against %s: %s" % (switch.name, err))
    r = json.loads(out.strip().splitlines()[-1])
    stats["sink_pps"] = r["sink_pps"]
    stats["sent_pps"] = r["sent_pps"]
    return stats


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def pct(x):
    return benchlib.fmt(x * 100 if x is not None else None, "%.1f%%")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="counted seconds per run")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds before counting")
    ap.add_argument("--cases", default=",".join(all_cases()),
                    help="comma-separated: normal, port, rR-fN (default: all %d)"
                    % len(all_cases()))
    ap.add_argument("--sizes", default="64,1500")
    ap.add_argument("--guest-memory", choices=("huge", "4k"), default="huge",
                    help="pkt_gen's shared memory: 2 MiB huge pages (as VMs with "
                         "vhost-user ports have) or 4 KiB pages")
    ap.add_argument("--switches", default=",".join(SWITCHES))
    ap.add_argument("--kvmkit-args", default="",
                    help="extra kvmkit-switchd options, e.g. --copy-rx (comparisons)")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench/results/switch.json"))
    ap.add_argument("--md", default=os.path.join(ROOT, "bench/results/switch.md"))
    args = ap.parse_args()
    KVMKIT_EXTRA.extend(args.kvmkit_args.split())
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        parse_case(c)
    sizes = [int(s) for s in args.sizes.split(",")]
    names = [s for s in args.switches.split(",") if s]
    notes = []
    if not os.access(PKT_GEN, os.X_OK):
        sys.exit("switch.py: %s missing: build first (make)" % PKT_GEN)
    if "kvmkit" in names and not os.access(SWITCHD, os.X_OK):
        msg = "kvmkit: skipped: %s does not exist yet" % os.path.relpath(SWITCHD, ROOT)
        print(msg, flush=True)
        notes.append(msg)
        names.remove("kvmkit")
    if "ovs" in names and (not os.access(OVS_DPDK, os.X_OK) or os.getuid() != 0):
        msg = "ovs: skipped: needs root and %s (scripts/deps.sh)" % OVS_DPDK
        print(msg, flush=True)
        notes.append(msg)
        names.remove("ovs")
    if "testpmd" in names and not shutil.which("dpdk-testpmd"):
        sys.exit("switch.py: dpdk-testpmd missing (scripts/deps.sh)")

    seen = {}
    tmp = tempfile.mkdtemp(prefix="kksw.", dir="/tmp")
    need_huge = "ovs" in names or args.guest_memory == "huge"
    if need_huge and os.getuid() != 0:
        sys.exit("switch.py: huge pages need root (or --guest-memory 4k without ovs)")
    huge = Hugepages(os.path.join(tmp, "huge")) if need_huge else None
    switches = []
    try:
        if huge:
            huge.setup()
        for n in names:
            switches.append(Testpmd(tmp) if n == "testpmd" else
                            Ovs(tmp, huge.mount) if n == "ovs" else Kvmkit(tmp))
        flows_file = os.path.join(tmp, "flows")
        for rnd in range(args.rounds):
            for case in cases:
                write_flows(case, flows_file)
                for size in sizes:
                    for sw in switches:
                        st = run_one(sw, case, size, args, flows_file)
                        seen.setdefault((case, size, sw.name), []).append(st)
                    line = " ".join("%s %.2f" % (sw.name, seen[(case, size, sw.name)][-1]
                                                 ["sink_pps"] / 1e6) for sw in switches)
                    print("round %d/%d %s %dB: %s Mpps" % (rnd + 1, args.rounds, case, size,
                                                          line), flush=True)
    finally:
        for sw in switches:
            if hasattr(sw, "close"):
                sw.close()
        if huge:
            huge.teardown()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for case in cases:
        rules, nflows = parse_case(case)
        for size in sizes:
            row = {"case": case, "size": size, "rules": rules, "flows": nflows}
            for n in names:
                runs = seen[(case, size, n)]
                pps = med([r["sink_pps"] for r in runs])
                row[n] = {"mpps": round(pps / 1e6, 3),
                          "sent_mpps": round(med([r["sent_pps"] for r in runs]) / 1e6, 3),
                          "runs_mpps": [round(r["sink_pps"] / 1e6, 3) for r in runs]}
                for k in ("cycles_per_packet", "simple_rate", "emc_rate", "smc_rate",
                          "megaflow_rate", "upcalls_rate", "megaflows"):
                    v = med([r.get(k) for r in runs])
                    if v is not None:
                        row[n][k] = round(v, 4) if k.endswith("rate") else round(v, 1)
            mp = {n: row[n]["mpps"] for n in names}
            row["ovs_over_testpmd"] = ratio(mp.get("ovs"), mp.get("testpmd"))
            row["kvmkit_over_ovs"] = ratio(mp.get("kvmkit"), mp.get("ovs"))
            row["kvmkit_over_testpmd"] = ratio(mp.get("kvmkit"), mp.get("testpmd"))
            # Interference from other tenants only ever slows a run down, so
            # each switch's best round is its undisturbed rate; and rounds
            # run back to back, so a round's ratio compares like with like.
            best = {n: max(row[n]["runs_mpps"]) for n in names}
            row["kvmkit_over_ovs_best"] = ratio(best.get("kvmkit"), best.get("ovs"))
            row["kvmkit_over_testpmd_best"] = ratio(best.get("kvmkit"), best.get("testpmd"))
            if "kvmkit" in names and "ovs" in names:
                row["kvmkit_over_ovs_paired"] = round(statistics.median(
                    [k / o for k, o in zip(row["kvmkit"]["runs_mpps"], row["ovs"]["runs_mpps"])
                     if k and o]), 3)
            rows.append(row)

    result = {"benchmark": "switch",
              "switches": {"kvmkit": "build/apps/kvmkit-switchd, one PMD on CPU 1, busy poll",
                           "ovs": "Open vSwitch 3.1 + DPDK 22.11 (ovs-vswitchd-dpdk), "
                                  "dpdkvhostuser ports, one PMD on CPU 1",
                           "testpmd": "DPDK 22.11 dpdk-testpmd io between two net_vhost "
                                      "ports, 1 forwarding core (no switching)"},
              "ran": names, "notes": notes,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rounds": args.rounds, "seconds_per_run": args.seconds,
              "warmup_seconds": args.warmup, "statistic": "median of rounds",
              "guest_memory": "2 MiB huge pages" if args.guest_memory == "huge"
                              else "4 KiB pages",
              "rules": "rR-fN: R rules priority=10,udp,in_port=1,nw_src=10.0.0.1+j,"
                       "tp_src=10000+j%50000 -> output:2, and priority=1,in_port=1 -> output:2; "
                       "traffic flow i: 10.0.0.1+i, UDP 10000+i%50000 -> 10.255.0.1:5001",
              "cycles": "busy cycles of the forwarding thread per packet (OVS: processing "
                        "cycles; testpmd: --record-core-cycles; kvmkit: busy_cycles)",
              "rates": "hits per packet received by the PMD in the counted window "
                       "(OVS: simple match, EMC, SMC, megaflow cache, upcalls; kvmkit: "
                       "simple match, EMC, megaflow cache, upcalls)",
              "cases": rows}
    for key in ("ovs_over_testpmd", "kvmkit_over_ovs", "kvmkit_over_testpmd",
                "kvmkit_over_ovs_best", "kvmkit_over_ovs_paired", "kvmkit_over_testpmd_best"):
        vals = [r[key] for r in rows if r.get(key)]
        if vals:
            result[key + "_geomean"] = round(statistics.geometric_mean(vals), 3)
            result[key + "_min"] = min(vals)
            if key.startswith("kvmkit_over_ovs"):
                result[key + "_at_1_2"] = sum(v >= 1.2 for v in vals)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    md = markdown(result, names)
    with open(args.md, "w") as f:
        f.write(md)
    print()
    print(md)


def markdown(result, names):
    head = ["case", "frame"]
    head += ["%s Mpps" % n for n in names]
    ratios = [("ovs_over_testpmd", "OVS/testpmd"), ("kvmkit_over_ovs", "kvmkit/OVS"),
              ("kvmkit_over_testpmd", "kvmkit/testpmd")]
    ratios = [(k, t) for k, t in ratios if all(n in names for n in k.split("_over_"))]
    if "kvmkit" in names and "ovs" in names:
        ratios += [("kvmkit_over_ovs_best", "kvmkit/OVS best"),
                   ("kvmkit_over_ovs_paired", "kvmkit/OVS per round")]
    head += [t for _, t in ratios]
    head += ["%s c/p" % n for n in names]
    caches = [n for n in ("ovs", "kvmkit") if n in names]
    for n in caches:
        head += (["OVS simple", "OVS EMC", "OVS SMC", "OVS megaflow", "OVS upcalls"]
                 if n == "ovs" else ["kvmkit simple", "kvmkit EMC", "kvmkit megaflow",
                                     "kvmkit upcalls"])
    lines = ["# Switch benchmark (bench/switch/switch.py)", "",
             "%s; median of %d rounds, %.1f s counted after %.1f s warm-up. Ran: %s. "
             "pkt_gen's memory (the guests'): %s."
             % (result["date"], result["rounds"], result["seconds_per_run"],
                result["warmup_seconds"], ", ".join(names),
                result.get("guest_memory", "4 KiB pages"))]
    for n in result["notes"]:
        lines.append("")
        lines.append("Note: " + n)
    lines += ["", "Ratios: of the medians; \"best\" of each switch's best round (interference "
              "from other tenants only slows a run down); \"per round\" the median of the "
              "rounds' ratios (each round runs the switches back to back)."]
    lines += ["", "Rules, " + result["rules"] + ".", "",
              "Cycles: " + result["cycles"] + ". Hit rates: " + result["rates"] + ".", "",
              "| " + " | ".join(head) + " |",
              "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r in result["cases"]:
        cells = [r["case"], "%d B" % r["size"]]
        cells += ["%.3f" % r[n]["mpps"] for n in names]
        cells += [benchlib.fmt(r.get(k), "%.2fx") for k, _ in ratios]
        cells += [benchlib.fmt(r[n].get("cycles_per_packet"), "%.0f") for n in names]
        for n in caches:
            keys = ("simple_rate", "emc_rate", "megaflow_rate", "upcalls_rate")
            if n == "ovs":
                keys = ("simple_rate", "emc_rate", "smc_rate") + keys[2:]
            cells += [pct(r[n].get(k)) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    summary = []
    for k, t in ratios:
        if result.get(k + "_geomean"):
            at = result.get(k + "_at_1_2")
            summary.append("%s geomean %.2fx (min %.2fx%s)" % (
                t, result[k + "_geomean"], result[k + "_min"],
                "" if at is None else ", %d of %d at 1.2x or more" % (at, len(result["cases"]))))
    lines.append("Summary: " + ("; ".join(summary) if summary else "no ratios") + ".")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
