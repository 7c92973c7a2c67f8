#!/usr/bin/python3
"""What the renewal team's API costs at scale (issue 15), on a private redis-server:

  (j) RSS per account with 1M accounts and 90 days of daily score history in Redis (the
      daemon keeps the last 31 days in memory for deltas and score_7d/score_30d; the rest
      is read lazily): (RSS - RSS of an empty daemon) / accounts, target <= 256 B, measured
      once the state is loaded, and again after the next day's first sweep (a full pass that
      files the accounts due that day in the due heap)
  (k) worklist latency at 1M accounts, client side over keep-alive: p50 / p99 / max over a
      mix of filters, sorts and pages (target: every answer within 50 ms), and the longest
      loop stall seen meanwhile by a /healthz probe (a few ms at most)
  (l) /v1/summary and /v1/accounts/ID/history latency at 1M accounts

Usage: scripts/bench_api.py --build BUILD_DIR [--accounts N] [--requests K] [--json FILE]
(BUILD_DIR holds a Release renewald and tools/loadgen; scripts/bench builds build-bench/).
Every process it starts is stopped by PID; every wait is bounded.  Standard library and
python3-redis only; it borrows scripts/bench_run.py's helpers."""

import argparse
import datetime
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_run import (PROCS, Daemon, consumed, free_port, log, metric, percentile,  # noqa: E402
                       proc_status, spawn, stop, wait_until, write_config)

DAY_MS = 86400000
STREAMS = ["usage", "support", "accounts"]
QUERIES = [
    "/v1/accounts",
    "/v1/accounts?band=at_risk,watch",
    "/v1/accounts?band=at_risk&sort=arr",
    "/v1/accounts?sort=delta_7d",
    "/v1/accounts?sort=days_to_renewal&within_days=90",
    "/v1/accounts?owner=li.wei%40example.com&sort=arr",
    "/v1/accounts?tier=enterprise&min_arr=100000",
    "/v1/accounts?band=watch&offset=500&limit=100",
    "/v1/accounts?snoozed=false&sort=score&limit=1000",
]


def history_bytes(n, day):
    """N valid 16-bit entries (set | band << 11 | tenths), different on every day."""
    period = 1009  # prime: the pattern drifts from day to day
    pat = bytearray()
    for i in range(period):
        t = (i * 37 + day * 11) % 1001
        band = 3 if t < 400 else 2 if t < 700 else 1
        e = 0x8000 | (band << 11) | t
        pat += bytes((e & 0xFF, e >> 8))
    reps = n // period + 1
    return (bytes(pat) * reps)[:2 * n]


def timed_get(conn, path):
    t0 = time.monotonic()
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    dt = (time.monotonic() - t0) * 1000
    if resp.status != 200:
        raise SystemExit("bench_api: %s answered %d: %s" % (path, resp.status, body[:200]))
    return dt, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-bench")
    ap.add_argument("--accounts", type=int, default=1000000)
    ap.add_argument("--history-days", type=int, default=90)
    ap.add_argument("--requests", type=int, default=300, help="worklist requests (k)")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    renewald = os.path.join(a.build, "renewald")
    loadgen = os.path.join(a.build, "tools", "loadgen")
    for b in (renewald, loadgen):
        if not os.access(b, os.X_OK):
            raise SystemExit("bench_api: missing %s (build first)" % b)
    tmp = tempfile.mkdtemp(prefix="renewald-bench-api.")
    res = {"accounts": a.accounts, "history_days": a.history_days}
    try:
        rport = free_port()
        spawn([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(rport),
               "--bind", "127.0.0.1", "--dir", tmp, "--save", "", "--appendonly", "no",
               "--protected-mode", "no", "--logfile", os.path.join(tmp, "redis.log")],
              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = redis.Redis(host="127.0.0.1", port=rport, socket_timeout=120)
        wait_until(r.ping, 30, 0.05, "redis-server")
        raddr = "127.0.0.1:%d" % rport

        # ------------------------------------------------------------ an empty daemon
        hp = free_port()
        conf = os.path.join(tmp, "empty.conf")
        write_config(conf, raddr, hp, "empty:", "empty:", "empty", "event", "1d", a.batch)
        d = Daemon(renewald, conf, os.path.join(tmp, "empty.log"), hp).start()
        d.wait_healthy()
        time.sleep(1.0)
        res["rss_empty"] = proc_status(d.proc.pid, "VmRSS")
        d.stop()

        # ------------------------------------------------------------ 1M accounts of state
        log("loadgen: %d accounts, 1 day" % a.accounts)
        subprocess.run([loadgen, "--redis", raddr, "--streams", "big:", "--accounts",
                        str(a.accounts), "--days", "1", "--events-per-account-day", "1",
                        "--seed", "11", "--start", "now-2d", "--quiet"],  # ends a day ago: no event ahead of the wall clock
                       check=True, capture_output=True, timeout=900)
        streams = ["big:" + s for s in STREAMS]
        conf = os.path.join(tmp, "big.conf")
        write_config(conf, raddr, hp, "big:", "big:", "big", "event", "1d", a.batch,
                     min_history="0")
        d = Daemon(renewald, conf, os.path.join(tmp, "big.log"), hp).start()
        wait_until(lambda: consumed(redis.Redis(host="127.0.0.1", port=rport,
                                                decode_responses=True), streams, "big"),
                   900, 0.1, "1M-account ingest")
        d.stop()

        # ------------------------------------------------------------ 90 days of history
        now_ms = int(r.hget("big:meta", "now") or 0)
        today = (now_ms if now_ms > 0 else int(time.time() * 1000)) // DAY_MS
        n_ord = a.accounts + 16  # ordinals are dense: a few spare bytes do no harm
        log("writing %d day keys of history (%.1f MB each)" % (a.history_days + 1,
                                                               2 * n_ord / 1e6))
        for k in range(a.history_days + 1):
            day = today - a.history_days + k
            date = datetime.date(1970, 1, 1) + datetime.timedelta(days=day)
            r.set("big:history:%s" % date.isoformat(), history_bytes(n_ord, day))
        res["redis_used_memory"] = r.info("memory")["used_memory"]

        # ------------------------------------------------------------ (j) memory
        # Restarted under clock = event: it loads the state and the last 31 days of the
        # history, and then waits for events (no sweep: the API alone is measured).  (Under
        # the wall clock a day after the book, its first sweep moves most accounts to
        # at_risk at once: that is the commit path's test, not this one.)
        write_config(conf, raddr, hp, "big:", "big:", "big", "event", "1d", a.batch,
                     min_history="0\nhistory = %dd" % a.history_days)
        d = Daemon(renewald, conf, os.path.join(tmp, "big2.log"), hp).start()
        res["startup_s"] = d.wait_healthy(timeout=300)
        time.sleep(3.0)  # the idle refresh of the stored scores, once
        loaded = sum(float(line.rsplit(" ", 1)[1]) for line in _metrics_lines(hp)
                     if line.startswith("renewald_accounts{"))
        res["accounts_loaded"] = loaded
        res["rss"] = proc_status(d.proc.pid, "VmRSS")
        res["bytes_per_account"] = (res["rss"] - res["rss_empty"]) / max(1, loaded)
        log("RSS %.1f MiB, %.0f B/account" % (res["rss"] / 2**20, res["bytes_per_account"]))

        # ------------------------------------------------------------ (k) worklist
        # The probe runs for a fixed time; the worklist requests go on meanwhile.
        probe_s = 30
        probe = spawn([sys.executable, os.path.join(os.path.dirname(__file__), "bench_probe.py"),
                       "--port", str(hp), "--seconds", str(probe_s)],
                      stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        conn = http.client.HTTPConnection("127.0.0.1", hp, timeout=60)
        lat, per_query = [], {}
        i = 0
        t_end = time.monotonic() + probe_s - 1
        while i < a.requests or time.monotonic() < t_end:
            q = QUERIES[i % len(QUERIES)]
            dt, body = timed_get(conn, q)
            if i < a.requests:
                lat.append(dt)
                per_query.setdefault(q, []).append(dt)
            if i == 0:
                res["worklist_total"] = json.loads(body)["total"]
            i += 1
            if i >= a.requests and time.monotonic() >= t_end:
                break
        pout, _ = probe.communicate(timeout=probe_s + 120)
        pr = json.loads(pout) if pout.strip() else {}
        lat.sort()
        res["worklist_n"] = len(lat)
        res["worklist_p50_ms"] = percentile(lat, 50)
        res["worklist_p99_ms"] = percentile(lat, 99)
        res["worklist_max_ms"] = lat[-1]
        res["worklist_by_query_max_ms"] = {q: max(v) for q, v in per_query.items()}
        res["stall_max_ms"] = pr.get("max_ms")
        res["stall_p999_ms"] = pr.get("p999_ms")

        # ------------------------------------------------------------ (l) summary, history
        for name, path in (("summary", "/v1/summary"),
                           ("history", "/v1/accounts/acct-%06d/history" % (a.accounts // 2))):
            ts = sorted(timed_get(conn, path)[0] for _ in range(50))
            res[name + "_p50_ms"] = percentile(ts, 50)
            res[name + "_p99_ms"] = percentile(ts, 99)
        days = json.loads(timed_get(conn, "/v1/accounts/acct-%06d/history"
                                    % (a.accounts // 2))[1])["days"]
        res["history_entries"] = len(days)
        conn.close()

        # ------------------------------------------------------------ (j) after a sweep
        # One event a minute past the next UTC midnight moves the clock into the next day:
        # its first sweep, a full pass, looks at every account and files the ones due that
        # day in the due heap; RSS again once it is over and the loop is idle.
        now_ms = int(r.hget("big:meta", "now") or now_ms)
        ts = (now_ms // DAY_MS + 1) * DAY_MS + 60000
        sweeps = metric(hp, "renewald_sweeps_total") or 0
        r.xadd("big:usage", {"event": json.dumps({
            "account": "acct-%06d" % (a.accounts // 3), "type": "login", "ts": ts})})
        wait_until(lambda: (metric(hp, "renewald_sweeps_total") or 0) > sweeps, 300, 0.2,
                   "the next day's first sweep")
        wait_until(lambda: consumed(redis.Redis(host="127.0.0.1", port=rport,
                                                decode_responses=True), streams, "big"),
                   300, 0.2, "the event consumed")
        last, stable = -1.0, 0
        deadline = time.monotonic() + 300
        while stable < 60 and time.monotonic() < deadline:  # 12 s without sweep work
            ev = metric(hp, "renewald_sweep_evaluations_total") or 0
            stable = stable + 1 if ev == last else 0
            last = ev
            time.sleep(0.2)
        res["rss_swept"] = proc_status(d.proc.pid, "VmRSS")
        res["bytes_per_account_swept"] = (res["rss_swept"] - res["rss_empty"]) / max(1, loaded)
        log("after a sweep: RSS %.1f MiB, %.0f B/account" % (res["rss_swept"] / 2**20,
                                                            res["bytes_per_account_swept"]))
        d.stop()
    finally:
        for p in reversed(PROCS):
            try:
                stop(p)
            except Exception:  # noqa: BLE001 - keep stopping the others
                pass
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept %s" % tmp)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
    print_table(res)


def _metrics_lines(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/metrics")
        return c.getresponse().read().decode().splitlines()
    finally:
        c.close()


def print_table(x):
    rows = [
        ("(j) RSS, %d accounts" % x["accounts_loaded"], "%.1f MiB" % (x["rss"] / 2**20),
         "empty daemon %.1f MiB" % (x["rss_empty"] / 2**20)),
        ("    bytes/account, %dd history" % x["history_days"], "%.0f B" % x["bytes_per_account"],
         "target <= 256; loaded, before any sweep"),
        ("    bytes/account after a full sweep", "%.0f B" % x["bytes_per_account_swept"],
         "target <= 256; the due heap filled"),
        ("(k) worklist p50 / p99 / max", "%.1f / %.1f / %.1f ms" % (
            x["worklist_p50_ms"], x["worklist_p99_ms"], x["worklist_max_ms"]),
         "target every answer <= 50 ms; n=%d, %d queries" % (x["worklist_n"], len(QUERIES))),
        ("    loop stall during (k), max / p99.9", "%.1f / %.1f ms" % (
            x["stall_max_ms"] or 0, x["stall_p999_ms"] or 0), "a /healthz probe every ~1 ms"),
        ("(l) /v1/summary p50 / p99", "%.1f / %.1f ms" % (x["summary_p50_ms"],
                                                         x["summary_p99_ms"]), ""),
        ("    /v1/accounts/ID/history p50 / p99", "%.1f / %.1f ms" % (
            x["history_p50_ms"], x["history_p99_ms"]),
         "%d days read from redis" % x["history_entries"]),
    ]
    print("renewald API benchmark: %d accounts, %d days of history" % (x["accounts"],
                                                                       x["history_days"]))
    print("%-40s  %-22s  %s" % ("measure", "value", "notes"))
    print("%s  %s  %s" % ("-" * 40, "-" * 22, "-" * 40))
    for name, value, note in rows:
        print("%-40s  %-22s  %s" % (name, value, note))
    print("worklist, slowest answer per query:")
    for q, v in sorted(x["worklist_by_query_max_ms"].items(), key=lambda kv: -kv[1]):
        print("    %-60s  %.1f ms" % (q, v))


if __name__ == "__main__":
    main()
