#!/usr/bin/env python3
"""Throughput of N partitions on a local Redis Cluster against one instance on one Redis
(issue 17), side by side on the same book, and what a failover costs.

  single:  one redis-server, loadgen's book on events:usage/support/accounts, one renewald;
  cluster: 3 masters + 3 replicas (--cluster-replicas 1), the same book sharded by
           loadgen --partitions N over events:{pK}:..., one renewald per partition.

Each daemon starts on the whole book already written (clock = event) and the time is taken
from the start of the daemon(s) to the moment every entry is acknowledged.  Then, on the
cluster, a manual failover (CLUSTER FAILOVER on the replica of p0's master) and a killed master
(SIGKILL; its replica is promoted after cluster-node-timeout): for each, the time until p0's
daemon commits again while events keep coming.  Every process is stopped by its PID.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
SUFFIXES = ("usage", "support", "accounts")
procs = []


def log(msg):
    print("bench_cluster: " + msg, file=sys.stderr, flush=True)


def port_pair():
    """A free port P <= 55535 whose cluster bus port P + 10000 is free too."""
    while True:
        p = random.randint(20000, 55535)
        try:
            for q in (p, p + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", q))
            return p
        except OSError:
            continue


def spawn(args, **kw):
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        os.kill(p.pid, sig)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(30)


def wait_until(pred, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
            if v:
                return v
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("bench_cluster: timed out waiting for " + what)
        time.sleep(interval)


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_server(tmp, name, extra=()):
    port = port_pair()
    d = os.path.join(tmp, name)
    os.makedirs(d)
    p = spawn([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
               "--save", "", "--appendonly", "no", "--protected-mode", "no",
               "--logfile", os.path.join(d, "redis.log")] + list(extra),
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=30)
    wait_until(r.ping, 30, "redis-server on %d" % port)
    return p, port


def config(path, address, cluster, prefix, streams, batch, http_port):
    with open(path, "w") as f:
        f.write("""[daemon]
clock = event
sweep_interval = 1d
log_level = info
[redis]
address = %s
cluster = %s
streams = %s
prefix = %s
batch = %d
block = 100ms
lease = 5s
[http]
listen = 127.0.0.1:%d
[signal "logins"]
types = login
aggregate = rate
half_life = 7d
low = 0.05
high = 0.4
weight = 3
normalize = seats
[signal "usage_trend"]
types = api_call
aggregate = trend
half_life = 7d
baseline = 60d
low = 0.5
high = 1.0
weight = 2
[signal "tickets"]
types = ticket_opened
aggregate = rate
half_life = 14d
low = 1
high = 0
critical = true
[signal "csat"]
types = csat
aggregate = mean
half_life = 30d
low = 2
high = 4.5
critical = true
[alerts]
keep = 10000
""" % (address, "true" if cluster else "false", ", ".join(streams), prefix, batch, http_port))


def consumed(r, streams):
    for s in streams:
        last = r.xrevrange(s, count=1)
        if not last:
            continue
        g = next((g for g in r.xinfo_groups(s) if g["name"] == "renewald"), None)
        if g is None or g["pending"] or g["last-delivered-id"] != last[0][0]:
            return False
    return True


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def daemon(renewald, tmp, name, cfg_args):
    conf = os.path.join(tmp, name + ".conf")
    hp = port_pair()
    config(conf, *cfg_args, http_port=hp)
    logf = open(os.path.join(tmp, name + ".log"), "ab")
    p = spawn([renewald, "-c", conf], stdout=logf, stderr=logf)
    return p, hp


def loadgen(binary, address, a, *extra):
    out = subprocess.run([binary, "--redis", address, "--accounts", str(a.accounts), "--days",
                          "7", "--events-per-account-day", "%.4f" % a.per_day, "--seed", "7",
                          "--start", "2026-09-01T00:00:00Z", "--quiet", *extra],
                         check=True, capture_output=True, text=True, timeout=900).stdout
    return json.loads(out)


def run_single(a, tmp, renewald, lg):
    p, port = redis_server(tmp, "single")
    book = loadgen(lg, "127.0.0.1:%d" % port, a)
    r = redis.Redis(port=port, decode_responses=True)
    streams = ["events:" + s for s in SUFFIXES]
    c0 = cpu(p.pid)
    t0 = time.monotonic()
    d, _ = daemon(renewald, tmp, "single-renewald",
                  ("127.0.0.1:%d" % port, False, "renewald:", streams, a.batch))
    wait_until(lambda: consumed(r, streams), 1800, "the single instance to consume the book")
    res = {"events": book["events"], "seconds": time.monotonic() - t0,
           "daemon_cpu": cpu(d.pid), "redis_cpu": cpu(p.pid) - c0}
    stop(d)
    stop(p)
    return res


class Cluster:
    def __init__(self, tmp, node_timeout):
        self.nodes = []
        for k in range(6):
            self.nodes.append(redis_server(tmp, "node%d" % k, [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(node_timeout), "--repl-diskless-sync-delay", "0"]))
        args = [REDIS_CLI, "--cluster", "create"] + ["127.0.0.1:%d" % p for _, p in self.nodes]
        subprocess.run(args + ["--cluster-replicas", "1", "--cluster-yes"], check=True,
                       capture_output=True, timeout=120)
        wait_until(self.ready, 120, "the cluster", interval=0.2)

    def client(self, port):
        return redis.Redis(port=port, decode_responses=True, socket_timeout=5)

    def live(self):
        return [(p, port) for p, port in self.nodes if p.poll() is None]

    def ready(self):
        roles = []
        for _, port in self.live():
            c = self.client(port)
            if "cluster_state:ok" not in c.execute_command("CLUSTER", "INFO"):
                return False
            rep = c.info("replication")
            roles.append(rep["role"])
            if rep["role"] == "slave" and rep.get("master_link_status") != "up":
                return False
        return roles.count("master") == 3

    def master_port(self, key):
        slot = self.client(self.live()[0][1]).execute_command("CLUSTER", "KEYSLOT", key)
        for lo, hi, master, *_ in self.client(self.live()[0][1]).execute_command("CLUSTER",
                                                                                 "SLOTS"):
            if lo <= slot <= hi:
                return int(master[1])
        return None

    def replica_port(self, master):
        for _, port in self.live():
            rep = self.client(port).info("replication")
            if rep["role"] == "slave" and int(rep["master_port"]) == master:
                return port
        return None

    def seeds(self):
        return ", ".join("127.0.0.1:%d" % port for _, port in self.nodes)


def rate_feeder(cl, stream, stop_at):
    """Keeps XADDing one login a millisecond or so to STREAM's master until STOP_AT."""
    import threading

    def run():
        c = None
        n = 0
        while time.monotonic() < stop_at[0]:
            try:
                if c is None:
                    c = cl.client(cl.master_port(stream))
                c.xadd(stream, {"event": json.dumps({"account": "acct-000001", "type": "login",
                                                     "ts": 1788220800000 + n})})
                n += 1
            except (redis.RedisError, OSError, TypeError):
                c = None
                time.sleep(0.05)
            time.sleep(0.002)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def failover_cost(cl, hp, stream, how):
    """The longest stretch without a commit of the daemon on HP, from the failover's start
    until it has committed 5 times on the new master, while events keep coming."""
    master = cl.master_port(stream)
    stop_at = [time.monotonic() + 600]
    t = rate_feeder(cl, stream, stop_at)
    wait_until(lambda: metric(hp, "renewald_commits_total") or 0, 30, "commits")
    time.sleep(1.0)
    last_n, last_t = metric(hp, "renewald_commits_total"), time.monotonic()
    gap = 0.0
    switched_n = None
    if how == "manual":
        cl.client(cl.replica_port(master)).execute_command("CLUSTER", "FAILOVER")
    else:
        proc = next(p for p, port in cl.nodes if port == master)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            n = metric(hp, "renewald_commits_total") or 0
            if switched_n is None and cl.master_port(stream) != master:
                switched_n = n
        except (redis.RedisError, OSError, TypeError):
            n = last_n
        now = time.monotonic()
        if n != last_n:
            gap = max(gap, now - last_t)
            last_n, last_t = n, now
        if switched_n is not None and n >= switched_n + 5:
            break
        time.sleep(0.01)
    else:
        raise SystemExit("bench_cluster: p0 did not commit again after the failover")
    stop_at[0] = 0
    t.join(10)
    if how == "manual":
        wait_until(cl.ready, 120, "the cluster after the failover", 0.2)
    return gap


def run_cluster(a, tmp, renewald, lg):
    cl = Cluster(tmp, a.node_timeout)
    book = loadgen(lg, "127.0.0.1:%d" % cl.nodes[0][1], a, "--partitions", str(a.partitions))
    parts = []
    c0 = {port: cpu(p.pid) for p, port in cl.nodes}
    t0 = time.monotonic()
    for k in range(a.partitions):
        streams = ["events:{p%d}:%s" % (k, s) for s in SUFFIXES]
        d, hp = daemon(renewald, tmp, "p%d-renewald" % k,
                       (cl.seeds(), True, "renewald:{p%d}:" % k, streams, a.batch))
        parts.append((d, hp, streams))
    done = {}
    while len(done) < len(parts):
        for k, (d, hp, streams) in enumerate(parts):
            if k not in done and consumed(cl.client(cl.master_port(streams[0])), streams):
                done[k] = time.monotonic() - t0
        if time.monotonic() - t0 > 1800:
            raise SystemExit("bench_cluster: the partitions did not consume the book")
        time.sleep(0.02)
    res = {"events": book["events"], "seconds": max(done.values()),
           "partition_seconds": [round(done[k], 3) for k in sorted(done)],
           "daemon_cpu": sum(cpu(d.pid) for d, _, _ in parts),
           "redis_cpu": sum(cpu(p.pid) - c0[port] for p, port in cl.nodes)}
    if a.failovers:
        res["manual_failover_s"] = failover_cost(cl, parts[0][1], parts[0][2][0], "manual")
        res["killed_master_s"] = failover_cost(cl, parts[0][1], parts[0][2][0], "kill")
    for d, _, _ in parts:
        stop(d)
    for p, _ in cl.nodes:
        stop(p)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--accounts", type=int, default=100000)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--node-timeout", type=int, default=2000, help="cluster-node-timeout, ms")
    ap.add_argument("--no-failovers", dest="failovers", action="store_false")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    a.per_day = max(0.05, (a.events / a.accounts - 1.0) / 7 / 0.977)
    renewald = os.path.join(a.build, "renewald")
    lg = os.path.join(a.build, "tools", "loadgen")
    tmp = tempfile.mkdtemp(prefix="renewald-bench-cluster.")
    try:
        log("single: one redis-server, one renewald, %d accounts, ~%d events"
            % (a.accounts, a.events))
        single = run_single(a, tmp, renewald, lg)
        log("cluster: 3 masters + 3 replicas, %d partitions" % a.partitions)
        cluster = run_cluster(a, tmp, renewald, lg)
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p, signal.SIGKILL)
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    s_eps = single["events"] / single["seconds"]
    c_eps = cluster["events"] / cluster["seconds"]
    print("%-36s %10s %9s %12s %10s %10s" % ("setup", "events", "seconds", "events/s",
                                              "cpu(rw) s", "cpu(redis) s"))
    print("%-36s %10d %9.2f %12.0f %10.2f %10.2f" % (
        "1 instance, 1 redis", single["events"], single["seconds"], s_eps, single["daemon_cpu"],
        single["redis_cpu"]))
    print("%-36s %10d %9.2f %12.0f %10.2f %10.2f" % (
        "%d partitions, 3+3 cluster" % a.partitions, cluster["events"], cluster["seconds"],
        c_eps, cluster["daemon_cpu"], cluster["redis_cpu"]))
    print("ratio cluster/single: throughput %.2f, renewald cpu per event %.2f, redis cpu per "
          "event %.2f" % (c_eps / s_eps,
                          (cluster["daemon_cpu"] / cluster["events"]) /
                          (single["daemon_cpu"] / single["events"]),
                          (cluster["redis_cpu"] / cluster["events"]) /
                          (single["redis_cpu"] / single["events"])))
    print("partitions done after (s): %s" % cluster["partition_seconds"])
    if a.failovers:
        print("p0 commits again after: manual failover %.2f s, killed master %.2f s "
              "(cluster-node-timeout %d ms)" % (cluster["manual_failover_s"],
                                                cluster["killed_master_s"], a.node_timeout))
    print("cores: %d" % os.cpu_count())
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"single": single, "cluster": cluster, "cores": os.cpu_count()}, f,
                      indent=2)


if __name__ == "__main__":
    main()
