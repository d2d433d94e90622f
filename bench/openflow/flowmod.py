#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Flow-mod throughput: kvmkit-switchd vs Open vSwitch, side by side.

For each switch, in alternating rounds on the same machine:
  1. start it fresh (kvmkit-switchd with a --config file; ovs-vswitchd of
     Debian's openvswitch-switch with its own ovsdb-server, userspace
     datapath, started by tests/lib/ovs.sh in its own network namespace)
     with one bridge and two ports;
  2. `ovs-ofctl add-flows` of N distinct flows (the same file for both)
     over the bridge's management socket, timed (the tool ends with a
     barrier: the switch has applied every flow-mod);
  3. `ovs-ofctl dump-aggregate` checks that N flows are there (not timed);
  4. `ovs-ofctl del-flows`, timed, and a check that none are left.
The same client, ovs-ofctl, with the same OpenFlow version (-O), drives
both switches. Reported: flows per second of each phase, the medians over
the rounds, and kvmkit/OVS ratios (> 1: kvmkit faster).

Usage: flowmod.py [--flows N] [--rounds R] [--protocol OpenFlow10|OpenFlow13]
Needs root (network namespace for OVS). Writes bench/results/openflow.{json,md}.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVS_LIB = os.path.join(ROOT, "tests", "lib", "ovs.sh")
BUILD = os.environ.get("KVMKIT_BUILD", os.path.join(ROOT, "build"))
KVMKIT = os.path.join(BUILD, "apps", "kvmkit")
SWITCHD = os.path.join(BUILD, "apps", "kvmkit-switchd")


def sh(cmd, env=None, timeout=600, check=True):
    r = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                   (r.stderr or r.stdout)[-2000:]))
    return r


def write_flows(path, n):
    """N distinct flows over several match shapes (L2, L3, L4) and actions."""
    with open(path, "w") as f:
        for i in range(n):
            a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
            kind = i % 4
            if kind == 0:
                f.write("priority=%d,ip,nw_src=10.%d.%d.%d,actions=output:2\n"
                        % (100 + i % 1000, a, b, c))
            elif kind == 1:
                f.write("priority=%d,tcp,nw_dst=10.%d.%d.%d,tp_dst=%d,actions=mod_nw_tos:8,output:1\n"
                        % (100 + i % 1000, a, b, c, 1 + i % 60000))
            elif kind == 2:
                f.write("priority=%d,in_port=1,dl_dst=02:00:%02x:%02x:%02x:01,actions=output:2\n"
                        % (100 + i % 1000, a, b, c))
            else:
                f.write("priority=%d,udp,nw_src=10.%d.%d.%d,tp_src=%d,actions=drop\n"
                        % (100 + i % 1000, a, b, c, 1 + i % 60000))


class Kvmkit:
    name = "kvmkit"

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "kvmkit")
        self.proc = None

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        sock = os.path.join(self.dir, "sd.sock")
        self.env = dict(os.environ, KVMKIT_SWITCHD_SOCKET=sock)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen([SWITCHD, "--rpc", sock, "--config",
                                      os.path.join(self.dir, "conf.json"), "--log-level", "warn"],
                                     stdout=self.log, stderr=self.log)
        for _ in range(200):
            if sh([KVMKIT, "vsctl", "list-br"], env=self.env, check=False).returncode == 0:
                break
            time.sleep(0.05)
        sh([KVMKIT, "vsctl", "add-br", "br0"], env=self.env)
        for p in ("p1", "p2"):
            sh([KVMKIT, "vsctl", "add-port", "br0", p, "type=ring", "options:peer=" + p + "x"],
               env=self.env)
        return "unix:" + os.path.join(self.dir, "br0.mgmt")

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


class Ovs:
    name = "ovs"

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "ovs")
        self.netns = "kkof%d" % os.getpid()
        self.env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_DBDIR=self.dir,
                        OVS_LOGDIR=self.dir, OVS_SYSCONFDIR=self.dir,
                        OVS_PKGDATADIR="/usr/share/openvswitch")
        sh(["ip", "netns", "add", self.netns])

    def lib(self, script, *args, env=None):
        return sh(["bash", "-c", ". '%s' && %s" % (OVS_LIB, script), "ovs", *args],
                  env=env or self.env)

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.lib('ovs_start "$1"', self.dir, env=dict(self.env, OVS_NETNS=self.netns))
        sh(["ovs-vsctl", "--timeout=60", "add-br", "br0", "--", "set", "bridge", "br0",
            "datapath_type=netdev",
            "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=internal",
            "ofport_request=1",
            "--", "add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=internal",
            "ofport_request=2"], env=self.env)
        return "unix:" + os.path.join(self.dir, "br0.mgmt")

    def cpu_seconds(self):
        pid = int(open(os.path.join(self.dir, "ovs-vswitchd.pid")).read().strip())
        with open("/proc/%d/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.lib('ovs_stop "$1"', self.dir)

    def close(self):
        sh(["ip", "netns", "del", self.netns], check=False)


def flow_count(target, proto):
    out = sh(["ovs-ofctl", "-O", proto, "dump-aggregate", target]).stdout
    for tok in out.replace(",", " ").split():
        if tok.startswith("flow_count="):
            return int(tok.split("=")[1])
    return -1


def run_one(sw, flows_file, n, proto):
    target = sw.start()
    try:
        sh(["ovs-ofctl", "-O", proto, "del-flows", target])
        cpu0 = sw.cpu_seconds()
        t0 = time.monotonic()
        sh(["ovs-ofctl", "-O", proto, "add-flows", target, flows_file], timeout=1200)
        add_s = time.monotonic() - t0
        cpu1 = sw.cpu_seconds()
        got = flow_count(target, proto)
        if got != n:
            raise RuntimeError("%s: %d flows after add-flows, expected %d" % (sw.name, got, n))
        cpu2 = sw.cpu_seconds()
        t0 = time.monotonic()
        sh(["ovs-ofctl", "-O", proto, "del-flows", target], timeout=1200)
        del_s = time.monotonic() - t0
        cpu3 = sw.cpu_seconds()
        left = flow_count(target, proto)
        if left != 0:
            raise RuntimeError("%s: %d flows left after del-flows" % (sw.name, left))
    finally:
        sw.stop()
    return {"add_s": round(add_s, 3), "del_s": round(del_s, 3),
            "add_per_s": round(n / add_s), "del_per_s": round(n / del_s),
            "add_cpu_s": round(cpu1 - cpu0, 3), "del_cpu_s": round(cpu3 - cpu2, 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flows", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--protocol", default="OpenFlow13", choices=["OpenFlow10", "OpenFlow13"])
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "openflow"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("flowmod.py: needs root (a network namespace for Open vSwitch)")
    tmp = tempfile.mkdtemp(prefix="kkof-")
    flows_file = os.path.join(tmp, "flows.txt")
    write_flows(flows_file, args.flows)
    switches = [Kvmkit(tmp), Ovs(tmp)]
    runs = {s.name: [] for s in switches}
    try:
        for r in range(args.rounds):
            for sw in (switches if r % 2 == 0 else switches[::-1]):
                res = run_one(sw, flows_file, args.flows, args.protocol)
                runs[sw.name].append(res)
                print("round %d %-6s add %7.3f s (%7d flows/s, %.2f CPU s)  del %7.3f s "
                      "(%7d flows/s)" % (r + 1, sw.name, res["add_s"], res["add_per_s"],
                                         res["add_cpu_s"], res["del_s"], res["del_per_s"]),
                      flush=True)
    finally:
        switches[1].close()
        shutil.rmtree(tmp, ignore_errors=True)
    med = {name: {k: statistics.median(x[k] for x in rs) for k in rs[0]}
           for name, rs in runs.items()}
    k, o = med["kvmkit"], med["ovs"]
    result = {
        "flows": args.flows, "rounds": args.rounds, "protocol": args.protocol,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "runs": runs, "median": med,
        "ratio_add": round(k["add_per_s"] / o["add_per_s"], 2),
        "ratio_del": round(k["del_per_s"] / o["del_per_s"], 2),
        "ratio_add_cpu": round(o["add_cpu_s"] / k["add_cpu_s"], 2) if k["add_cpu_s"] else None,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    md = ["# Flow-mod throughput: kvmkit-switchd vs Open vSwitch", "",
          "`python3 bench/openflow/flowmod.py --flows %d --rounds %d --protocol %s` (%s)."
          % (args.flows, args.rounds, args.protocol, result["date"]), "",
          "| switch | add-flows s | flows/s | switch CPU s | del-flows s | flows/s |",
          "|---|---|---|---|---|---|"]
    for name in ("kvmkit", "ovs"):
        m = med[name]
        md.append("| %s | %.3f | %d | %.2f | %.3f | %d |" % (name, m["add_s"], m["add_per_s"],
                                                            m["add_cpu_s"], m["del_s"],
                                                            m["del_per_s"]))
    md += ["", "kvmkit/OVS: add-flows %.2fx, del-flows %.2fx (medians of %d rounds; > 1 is "
           "kvmkit faster)." % (result["ratio_add"], result["ratio_del"], args.rounds), ""]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
