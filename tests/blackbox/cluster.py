"""A real Redis Cluster on 127.0.0.1 for the cluster tests (SPEC §9): N
redis-servers with --cluster-enabled yes on free ports, each in its own
directory, joined by `redis-cli --cluster create ... --cluster-replicas R`;
helpers to find the master and replica of a key's slot, fail over by hand
(CLUSTER FAILOVER on the replica) or by killing a master, and a client that
follows the slot's master through failovers.  Every server is a RedisServer
of conftest (stopped by its PID)."""

import os
import random
import signal
import socket
import subprocess
import threading
import time

from conftest import RedisServer, wait_until

REDIS_CLI = "redis-cli"


def cluster_port():
    """A free port P <= 55535 whose cluster bus port P + 10000 is free too."""
    for _ in range(200):
        p = random.randint(20000, 55535)
        ok = True
        for q in (p, p + 10000):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
                    break
        if ok:
            return p
    raise AssertionError("no free port pair for a cluster node")


def key_slot(key):
    """CRC16/XMODEM of the key's hash tag, modulo 16384 (what CLUSTER KEYSLOT says)."""
    k = key.encode() if isinstance(key, str) else key
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    crc = 0
    for b in k:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


class RedisCluster:
    def __init__(self, directory, nodes=6, replicas=1, node_timeout_ms=1500):
        self.dir = directory
        self.node_timeout_ms = node_timeout_ms
        self.replicas = replicas
        self.paused = set()  # ports of servers stopped with SIGSTOP
        self.servers = []
        for k in range(nodes):
            self.servers.append(RedisServer(
                os.path.join(directory, "node%d" % k), port=cluster_port(),
                extra_args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", str(node_timeout_ms),
                            "--repl-diskless-sync-delay", "0"]))

    # -- life cycle

    def start(self, timeout=60):
        for s in self.servers:
            s.start()
        args = [REDIS_CLI, "--cluster", "create"] + [s.address for s in self.servers]
        args += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, "redis-cli --cluster create failed:\n%s%s" % (
            proc.stdout, proc.stderr)
        self.wait_stable(min_replicas=self.replicas, timeout=timeout)
        return self

    def stop(self):
        for s in self.servers:
            if s.port in self.paused:
                self.resume(s)
            s.cleanup()

    def live(self):
        """The servers running and not paused."""
        return [s for s in self.servers if s.running() and s.port not in self.paused]

    def pause(self, server):
        """SIGSTOP: the node answers nothing (its sockets still take bytes)."""
        self.paused.add(server.port)
        os.kill(server.proc.pid, signal.SIGSTOP)

    def resume(self, server):
        os.kill(server.proc.pid, signal.SIGCONT)
        self.paused.discard(server.port)

    @property
    def seeds(self):
        return ", ".join(s.address for s in self.servers)

    # -- state

    def shards(self, server=None):
        """CLUSTER SHARDS as [(slot ranges, [(server, role, health)])], from SERVER or else
        from the first live node that answers."""
        last = None
        for s in [server] if server else self.live():
            try:
                raw = s.client(socket_timeout=3).execute_command("CLUSTER", "SHARDS")
            except Exception as e:  # a node being killed or busy
                last = e
                continue
            out = []
            for sh in raw:
                sh = _pairs(sh)
                ranges = list(zip(sh["slots"][0::2], sh["slots"][1::2]))
                nodes = []
                for n in sh["nodes"]:
                    n = _pairs(n)
                    nodes.append((self.server_at(int(n["port"])), n["role"], n["health"]))
                out.append((ranges, nodes))
            return out
        raise AssertionError("no cluster node answers CLUSTER SHARDS: %r" % (last,))

    def server_at(self, port):
        return next((s for s in self.servers if s.port == port), None)

    def master_of(self, key):
        """The RedisServer that is the healthy master of KEY's slot (asserts there is one)."""
        slot = key_slot(key)
        for ranges, nodes in self.shards():
            if any(a <= slot <= b for a, b in ranges):
                for srv, role, health in nodes:
                    if role == "master" and health == "online":
                        return srv
        raise AssertionError("no healthy master serves slot %d" % slot)

    def replica_of(self, master):
        for ranges, nodes in self.shards():
            if any(srv is master and role == "master" for srv, role, _ in nodes):
                for srv, role, health in nodes:
                    if role == "replica" and health == "online":
                        return srv
        raise AssertionError("%s has no healthy replica" % master.address)

    def _slot_map(self, server):
        """{(start, end): master port} of the healthy masters in SERVER's view."""
        out = {}
        for ranges, nodes in self.shards(server):
            for r in ranges:
                out[r] = sorted(srv.port for srv, role, health in nodes
                                if srv is not None and role == "master" and health == "online")
        return out

    def stable(self, min_replicas=0):
        """Every live node says cluster_state:ok and has the same view: every slot covered by
        one healthy master with at least MIN_REPLICAS healthy replicas; every live replica's
        link to its master is up."""
        views = []
        for s in self.live():
            info = s.client().execute_command("CLUSTER", "INFO")
            if "cluster_state:ok" not in info:
                return False
            views.append(self._slot_map(s))
            rep = s.client().info("replication")
            if rep.get("role") == "slave" and rep.get("master_link_status") != "up":
                return False
        if any(v != views[0] for v in views):
            return False
        if sum(b - a + 1 for a, b in views[0]) != 16384 or any(
                len(m) != 1 for m in views[0].values()):
            return False
        for ranges, nodes in self.shards():
            if ranges:
                healthy = [srv for srv, role, health in nodes
                           if role == "replica" and health == "online"]
                if len(healthy) < min_replicas:
                    return False
        return True

    def wait_stable(self, min_replicas=0, timeout=60):
        wait_until(lambda: self.stable(min_replicas), timeout=timeout, interval=0.2,
                   what="a stable redis cluster")

    # -- failovers

    def manual_failover(self, key, timeout=60):
        """CLUSTER FAILOVER on the replica of KEY's master; returns (old, new) master."""
        old = self.master_of(key)
        new = self.replica_of(old)
        assert new.client().execute_command("CLUSTER", "FAILOVER") in (b"OK", "OK", True)
        wait_until(lambda: self.master_of(key) is new, timeout=timeout,
                   what="the replica of %s to take over" % old.address)
        self.wait_stable(min_replicas=self.replicas, timeout=timeout)
        return old, new

    # -- slot migration (what redis-cli --cluster reshard does, one step at a time)

    def node_id(self, server):
        return server.client().execute_command("CLUSTER", "MYID")

    def migration_begin(self, slot, src, dst):
        dst.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", self.node_id(src))
        src.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", self.node_id(dst))

    def migrate_keys(self, slot, src, dst, keys=None):
        """MIGRATEs KEYS (default: every key of SLOT on SRC) to DST; returns them."""
        r = src.client()
        if keys is None:
            keys = r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100000)
        if keys:
            r.execute_command("MIGRATE", "127.0.0.1", dst.port, "", 0, 10000, "KEYS", *keys)
        return keys

    def migration_end(self, slot, dst):
        """SETSLOT NODE on every master, the new owner first."""
        dst_id = self.node_id(dst)
        masters = [dst] + [s for s in self.live() if s is not dst and
                           s.client().info("replication").get("role") == "master"]
        for s in masters:
            s.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)

    def client_for(self, key, **kw):
        """A plain client of the current master of KEY's slot."""
        return self.master_of(key).client(**kw)


def _pairs(flat):
    """[k1, v1, k2, v2, ...] (RESP2 map) -> dict with str keys and str values."""
    out = {}
    for k, v in zip(flat[0::2], flat[1::2]):
        k = k.decode() if isinstance(k, bytes) else k
        if isinstance(v, bytes):
            v = v.decode()
        out[k] = v
    return out


def wait_promoted(cluster, key, old, timeout=60):
    """After OLD (the master of KEY) died: waits for another healthy master of the slot."""
    t0 = time.monotonic()
    new = wait_until(lambda: (lambda m: m if m is not old else None)(cluster.master_of(key)),
                     timeout=timeout, interval=0.2,
                     what="a replica to be promoted in place of %s" % old.address)
    return new, time.monotonic() - t0


def _id_key(eid):
    ms, seq = str(eid).split("-")
    return int(ms), int(seq)


class PartitionFeeder(threading.Thread):
    """XADDs ENTRIES ((stream, explicit id, fields), all of one hash tag, in order) to the
    master of their slot, CHUNK at a time with PAUSE s between chunks (none after hurry()).

    It rides out failovers without losing or doubling an entry: on any error (MOVED,
    CLUSTERDOWN, a lost connection, an id not above the stream's top) it waits for a healthy
    master and goes on from the first entry that master does not hold.  A failover may lose
    entries that were XADDed and acknowledged (Redis replicates asynchronously): ensure_all(),
    once the failovers are over, adds again whatever the streams lost.  Entries are appended
    in list order over one connection at a time, so what a master holds is a prefix of ENTRIES
    (checked)."""

    def __init__(self, cluster, entries, chunk=10, pause=0.05, name="feeder"):
        super().__init__(daemon=True, name=name)
        self.cluster = cluster
        self.entries = entries
        self.chunk = chunk
        self.pause = pause
        self.fed = 0  # entries acknowledged so far (some may be lost later)
        self.recoveries = 0
        self.error = None
        self._hurry = threading.Event()
        self._stop_ev = threading.Event()
        self._client = None

    def hurry(self):
        self._hurry.set()

    def cancel(self):
        self._stop_ev.set()

    def _master_client(self):
        if self._client is None:
            self._client = self.cluster.master_of(self.entries[0][0]).client(socket_timeout=5)
        return self._client

    def _resync(self, timeout=120):
        """Index of the first entry the current master lacks, once a healthy master answers."""
        import redis

        deadline = time.monotonic() + timeout
        while True:
            self._client = None
            try:
                c = self._master_client()
                tops = {}
                for s in {e[0] for e in self.entries}:
                    last = c.xrevrange(s, count=1)
                    tops[s] = _id_key(last[0][0]) if last else (0, 0)
                have = [_id_key(eid) <= tops[s] for s, eid, _ in self.entries]
                j = have.index(False) if False in have else len(have)
                assert all(have[:j]) and not any(have[j:]), \
                    "the master holds no prefix of the entries"
                return j
            except (redis.exceptions.RedisError, AssertionError, OSError) as e:
                if isinstance(e, AssertionError) and "prefix" in str(e):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _feed_from(self, i):
        import redis

        n = len(self.entries)
        while i < n and not self._stop_ev.is_set():
            try:
                pipe = self._master_client().pipeline(transaction=False)
                for s, eid, fields in self.entries[i:i + self.chunk]:
                    pipe.xadd(s, fields, id=eid)
                pipe.execute()
                i = min(n, i + self.chunk)
                self.fed = max(self.fed, i)
            except (redis.exceptions.RedisError, OSError, AssertionError):
                self.recoveries += 1
                time.sleep(0.1)
                i = self._resync()
                continue
            if not self._hurry.is_set():
                time.sleep(self.pause)

    def run(self):
        try:
            self._feed_from(0)
        except Exception as e:  # reported by ensure_all()
            self.error = e

    def ensure_all(self, timeout=180):
        """Joins the thread, then adds again what a failover lost; fails on a feeder error."""
        self.hurry()
        self.join(timeout)
        assert not self.is_alive(), "%s still feeding after %ss" % (self.name, timeout)
        assert self.error is None, "%s failed: %r" % (self.name, self.error)
        j = self._resync()
        if j < len(self.entries):
            self.recoveries += 1
            self._feed_from(j)
            assert self._resync() == len(self.entries)
        return self.recoveries
