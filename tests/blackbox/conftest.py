"""Fixtures and helpers of the renewald black-box suite.

Everything runs on 127.0.0.1 (or unix sockets in a temporary directory).
Every process started here is registered and stopped by its PID in teardown:
SIGTERM, a bounded wait, then SIGKILL -- even when the test fails.  An atexit
hook repeats that for anything left over (e.g. an interrupted run).
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from receivers import HTTPReceiver, SMTPReceiver, free_port  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RENEWALD_BIN = os.environ.get("RENEWALD_BIN") or os.path.join(REPO, "build", "renewald")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

EVENT_STREAMS = ["events:usage", "events:support", "events:accounts"]

# ---------------------------------------------------------------------------
# process bookkeeping

_live_procs = {}  # pid -> Popen


def _register(proc):
    _live_procs[proc.pid] = proc


def stop_process(proc, term_timeout=15.0, sig=signal.SIGTERM):
    """Terminates PROC (by its PID), waits bounded, then SIGKILLs it.
    Returns the exit code (negative = killed by a signal)."""
    if proc is None:
        return None
    try:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(term_timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(30)
        return proc.returncode
    finally:
        _live_procs.pop(proc.pid, None)


def kill_process(proc):
    """SIGKILL by PID and reap."""
    if proc is None:
        return None
    try:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(30)
        return proc.returncode
    finally:
        _live_procs.pop(proc.pid, None)


@atexit.register
def _cleanup_leftovers():
    for proc in list(_live_procs.values()):
        try:
            stop_process(proc, term_timeout=5.0)
        except Exception:
            pass


# ---------------------------------------------------------------------------
# small helpers


class WaitAbort(AssertionError):
    """Raised by a wait_until predicate when waiting longer cannot help."""


def wait_until(pred, timeout=60, interval=0.05, what="condition"):
    """Polls PRED until it returns a truthy value (returned); fails after TIMEOUT s,
    or at once when PRED raises WaitAbort."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last_exc = None
        except WaitAbort:
            raise
        except Exception as e:  # keep polling; report the last error
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %ss waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise AssertionError(msg)
        time.sleep(interval)


def http_request(url, method="GET", headers=None, body=None, timeout=30):
    """Returns (status, headers_dict, body_bytes); never raises on HTTP errors."""
    req = urllib.request.Request(url, method=method, data=body, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        data = e.read() if e.fp is not None else b""
        return e.code, {k.lower(): v for k, v in (e.headers or {}).items()}, data


def decode_body(data):
    text = data.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_metrics(text):
    """Prometheus text -> list of (name, labels_dict, value_float); also checks
    the syntax of every non-comment line."""
    samples = []
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$')
    label_re = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = line_re.match(line)
        assert m, "bad metrics line: %r" % line
        labels = {}
        if m.group(3):
            pos = 0
            body = m.group(3)
            while pos < len(body):
                lm = label_re.match(body, pos)
                assert lm, "bad labels in metrics line: %r" % line
                labels[lm.group(1)] = (lm.group(2).replace('\\"', '"')
                                       .replace("\\n", "\n").replace("\\\\", "\\"))
                pos = lm.end()
        v = m.group(4)
        value = {"+Inf": float("inf"), "-Inf": float("-inf"), "NaN": float("nan")}.get(v)
        samples.append((m.group(1), labels, float(v) if value is None else value))
    return samples


def metric_values(samples, name, **labels):
    return [v for (n, lb, v) in samples
            if n == name and all(lb.get(k) == str(x) for k, x in labels.items())]


def metric_value(samples, name, default=None, **labels):
    """The one sample NAME{LABELS...} (a subset match must be unique), or DEFAULT."""
    vals = metric_values(samples, name, **labels)
    if not vals:
        return default
    assert len(vals) == 1, "several samples of %s%r: %r" % (name, labels, vals)
    return vals[0]


# ---------------------------------------------------------------------------
# redis


class RedisServer:
    """A redis-server of our own on a free 127.0.0.1 port (or also a unix socket)."""

    def __init__(self, directory, port=None, appendonly=False, save=False,
                 unixsocket=False, password=None, extra_args=()):
        self.dir = directory
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.save = save
        self.password = password
        self.extra_args = list(extra_args)
        self.unixsocket = None
        if unixsocket:
            # short path: sun_path is ~107 bytes
            self._sockdir = tempfile.mkdtemp(prefix="rwr")
            self.unixsocket = os.path.join(self._sockdir, "redis.sock")
        else:
            self._sockdir = None
        self.logfile = os.path.join(self.dir, "redis.log")
        self.proc = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _args(self):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--protected-mode", "no", "--daemonize", "no",
                "--logfile", self.logfile, "--dbfilename", "dump.rdb"]
        if not self.save:
            args += ["--save", ""]
        if self.appendonly:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        if self.unixsocket:
            args += ["--unixsocket", self.unixsocket, "--unixsocketperm", "700"]
        if self.password:
            args += ["--requirepass", self.password]
        return args + self.extra_args

    def start(self, timeout=30):
        """Starts (or restarts, on the same port and dir) and waits for PING."""
        assert self.proc is None or self.proc.poll() is not None, "redis already running"
        self.proc = subprocess.Popen(self._args(), cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _register(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %s:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                return self.client(socket_timeout=1).ping()
            except Exception as e:
                if "LOADING" in str(e):
                    return False
                raise

        try:
            wait_until(up, timeout=timeout, what="redis-server PING on %d" % self.port)
        except AssertionError:
            if self.proc.poll() is not None:
                raise
            raise
        return self

    def log_tail(self, n=40):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def client(self, decode_responses=True, **kw):
        import redis

        kw.setdefault("socket_timeout", 30)
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           decode_responses=decode_responses, **kw)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: a crash (no final save / fsync beyond appendfsync)."""
        kill_process(self.proc)

    def stop(self):
        """SIGTERM, bounded wait, SIGKILL."""
        stop_process(self.proc, term_timeout=20)

    def restart(self, timeout=30):
        self.stop()
        return self.start(timeout=timeout)

    def cleanup(self):
        self.stop()
        if self._sockdir:
            shutil.rmtree(self._sockdir, ignore_errors=True)


def stream_last_id(r, stream):
    info = r.xinfo_stream(stream)
    return info["last-generated-id"]


def is_consumed(r, streams, group="renewald"):
    """True when GROUP has delivered and acknowledged every entry of every
    stream: lag 0 (Redis 7; or last-delivered-id == the stream's last id)
    and nothing pending.  A stream that does not exist has nothing to consume."""
    for s in streams:
        if not r.exists(s):
            continue
        groups = r.xinfo_groups(s)
        g = next((g for g in groups if g["name"] == group), None)
        if g is None:
            return False
        if g["pending"] != 0:
            return False
        if g.get("lag") not in (None, 0):
            return False
        if g["last-delivered-id"] != stream_last_id(r, s):
            return False
    return True


def wait_consumed(r, streams, group="renewald", timeout=120, daemon=None):
    """Waits until is_consumed(); fails early when DAEMON exits."""

    def pred():
        if daemon is not None and not daemon.alive():
            raise AssertionError("daemon exited (%s) while consuming:\n%s"
                                 % (daemon.proc.returncode, daemon.log_tail()))
        return is_consumed(r, streams, group)

    try:
        return wait_until(pred, timeout=timeout, interval=0.1,
                          what="group %s to consume %s" % (group, streams))
    except AssertionError as e:
        info = {}
        for s in streams:
            try:
                info[s] = r.xinfo_groups(s)
            except Exception as ex:  # noqa
                info[s] = repr(ex)
        raise AssertionError("%s\nXINFO GROUPS: %r" % (e, info)) from None


# ---------------------------------------------------------------------------
# configuration


def _render_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ", ".join(_render_value(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def render_config(config):
    """Config dict -> INI text.  Keys: 'daemon' or ('signal', 'logins');
    values: dict key -> value (None omits the key; lists are comma-joined;
    bools true/false).  A raw str config is returned unchanged."""
    if isinstance(config, str):
        return config
    lines = []
    for sec, kv in config.items():
        if kv is None:
            continue
        if isinstance(sec, tuple):
            lines.append('[%s "%s"]' % sec)
        else:
            lines.append("[%s]" % sec)
        for k, v in kv.items():
            if v is None:
                continue
            lines.append("%s = %s" % (k, _render_value(v)))
        lines.append("")
    return "\n".join(lines)


BASE_SIGNALS = {
    ("signal", "logins"): {"types": "login", "aggregate": "rate", "half_life": "7d",
                           "low": 0.05, "high": 0.4, "weight": 3, "normalize": "seats"},
    ("signal", "usage_trend"): {"types": "api_call", "aggregate": "trend", "half_life": "7d",
                                "baseline": "60d", "low": 0.5, "high": 1.0, "weight": 2},
    ("signal", "tickets"): {"types": "ticket_opened", "aggregate": "rate", "half_life": "14d",
                            "low": 1, "high": 0, "weight": 1, "critical": True},
    ("signal", "csat"): {"types": "csat", "aggregate": "mean", "half_life": "30d",
                         "low": 2, "high": 4.5, "weight": 1, "critical": True},
}


def base_config(redis_port, http_port, extra=None, signals=None, **overrides):
    """The standard test config as an ordered dict (see render_config).

    OVERRIDES: simple section name -> dict merged into it (a None value drops
    the key), or None to drop the section.  EXTRA: {section_key: dict or None}
    for named sections, e.g. {('sink', 'hook'): {...}, ('sink', 'log'): None}.
    SIGNALS replaces the four standard signals (a dict like BASE_SIGNALS)."""
    redis_addr = (redis_port if isinstance(redis_port, str) and ":" in redis_port
                  else "127.0.0.1:%d" % int(redis_port))
    cfg = {
        "daemon": {"clock": "event", "sweep_interval": "1h", "log_level": "debug"},
        "redis": {"address": redis_addr, "streams": list(EVENT_STREAMS),
                  "prefix": "renewald:", "batch": 500, "block": "100ms"},
        "http": {"listen": "127.0.0.1:%d" % http_port},
    }
    for k, v in (BASE_SIGNALS if signals is None else signals).items():
        cfg[k] = dict(v)
    cfg["score"] = {"healthy": 70, "watch": 40, "hysteresis": 3, "confirm": "2d",
                    "min_history": "14d"}
    cfg["alerts"] = {"renewal_windows": [90, 60, 30]}
    cfg[("sink", "log")] = {"type": "log"}
    for sec, kv in overrides.items():
        _merge_section(cfg, sec, kv)
    for sec, kv in (extra or {}).items():
        _merge_section(cfg, sec, kv)
    return cfg


def _merge_section(cfg, sec, kv):
    if kv is None:
        cfg.pop(sec, None)
        return
    cur = dict(cfg.get(sec) or {})
    for k, v in kv.items():
        if v is None:
            cur.pop(k, None)
        else:
            cur[k] = v
    cfg[sec] = cur


def config_http_port(config):
    if isinstance(config, dict):
        listen = (config.get("http") or {}).get("listen")
    else:
        m = re.search(r"^\s*listen\s*=\s*(\S+)", config, re.M)
        listen = m.group(1) if m else None
    if not listen:
        return None
    return int(str(listen).rsplit(":", 1)[1])


# ---------------------------------------------------------------------------
# the daemon


class Daemon:
    """One renewald process: RENEWALD_BIN -c CONFIG, stdout+stderr to a log file."""

    def __init__(self, workdir, config, env=None, args=(), name="renewald",
                 binary=None):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.name = name
        self.config_path = os.path.join(workdir, "%s.conf" % name)
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.binary = binary or RENEWALD_BIN
        self.extra_env = dict(env or {})
        self.args = list(args)
        self.proc = None
        self.config = None
        self.port = None
        self.write_config(config)

    def write_config(self, config):
        """(Re)writes the config file atomically (rename)."""
        self.config = config
        self.port = config_http_port(config)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(render_config(config))
        os.replace(tmp, self.config_path)

    def env(self):
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "CREDENTIALS_DIRECTORY", "WATCHDOG_USEC",
                  "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"):
            env.pop(k, None)
        env.update(self.extra_env)
        return env

    def start(self):
        if not os.access(self.binary, os.X_OK):
            pytest.fail("renewald binary not found or not executable: %s "
                        "(set RENEWALD_BIN)" % self.binary)
        assert self.proc is None or self.proc.poll() is not None, "daemon already running"
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "-c", self.config_path] + self.args,
                                     cwd=self.workdir, env=self.env(),
                                     stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=self._logf)
        _register(self.proc)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def url(self, path):
        assert self.port, "no [http] listen in this config"
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def request(self, path, method="GET", headers=None, body=None, timeout=30):
        """(status, headers, parsed body) -- JSON when it parses, else text."""
        status, hdrs, data = http_request(self.url(path), method, headers, body, timeout)
        return status, hdrs, decode_body(data)

    def get(self, path, headers=None, timeout=30):
        """(status, parsed JSON or text)."""
        status, _, body = self.request(path, headers=headers, timeout=timeout)
        return status, body

    def get_raw(self, path, headers=None, timeout=30):
        status, hdrs, data = http_request(self.url(path), "GET", headers, None, timeout)
        return status, hdrs, data

    def wait_healthy(self, timeout=60):
        def healthy():
            if not self.alive():
                raise WaitAbort("daemon exited with %s before healthy:\n%s"
                                     % (self.proc.returncode if self.proc else None,
                                        self.log_tail()))
            try:
                return self.get("/healthz", timeout=5)[0] == 200
            except OSError:
                return False

        try:
            wait_until(healthy, timeout=timeout, interval=0.1, what="GET /healthz == 200")
        except AssertionError as e:
            raise AssertionError("%s\n--- daemon log tail ---\n%s" % (e, self.log_tail())) from None
        return self

    def metrics(self):
        status, hdrs, data = self.get_raw("/metrics")
        assert status == 200, (status, data[:500])
        return data.decode("utf-8")

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout=30):
        """Return code, or None when still running after TIMEOUT s."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if self.proc.poll() is not None:
                _live_procs.pop(self.proc.pid, None)

    def kill9(self):
        return kill_process(self.proc)

    def stop(self, timeout=30):
        """SIGTERM, bounded wait, SIGKILL.  Returns the exit code."""
        rc = stop_process(self.proc, term_timeout=timeout)
        if getattr(self, "_logf", None):
            self._logf.close()
            self._logf = None
        return rc

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])


def run_renewald(args, cwd=None, env=None, timeout=60, binary=None):
    """Runs the binary to completion (CLI modes); returns CompletedProcess (text)."""
    binary = binary or RENEWALD_BIN
    if not os.access(binary, os.X_OK):
        pytest.fail("renewald binary not found or not executable: %s (set RENEWALD_BIN)" % binary)
    e = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "CREDENTIALS_DIRECTORY"):
        e.pop(k, None)
    e.update(env or {})
    proc = subprocess.Popen([binary] + list(args), cwd=cwd or REPO, env=e,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _register(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process(proc)
        out, err = proc.communicate()
        raise AssertionError("renewald %s did not exit within %ss" % (args, timeout))
    finally:
        _live_procs.pop(proc.pid, None)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       out.decode("utf-8", "replace"),
                                       err.decode("utf-8", "replace"))


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


@pytest.fixture
def redis_factory(tmp_path):
    """redis_factory(**kw) -> started RedisServer; all stopped in teardown."""
    servers = []

    def make(name="redis", **kw):
        srv = RedisServer(str(tmp_path / name), **kw)
        servers.append(srv)
        return srv.start()

    yield make
    for srv in reversed(servers):
        srv.cleanup()


@pytest.fixture
def redis_server(redis_factory):
    return redis_factory()


@pytest.fixture
def daemon_factory(tmp_path):
    """daemon_factory(config, start=True, name=..., env=...) -> Daemon;
    every daemon is stopped by PID in teardown."""
    daemons = []

    def make(config, start=True, name=None, **kw):
        d = Daemon(str(tmp_path / "daemon"), config,
                   name=name or "renewald%s" % (len(daemons) or ""), **kw)
        daemons.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in reversed(daemons):
        try:
            d.stop(timeout=20)
        except Exception:
            kill_process(d.proc)


@pytest.fixture
def http_receiver():
    rec = HTTPReceiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def smtp_receiver():
    rec = SMTPReceiver().start()
    yield rec
    rec.stop()


def pytest_report_header(config):
    return "renewald binary: %s (%s)" % (
        RENEWALD_BIN, "present" if os.access(RENEWALD_BIN, os.X_OK) else "MISSING")


@pytest.fixture(scope="session")
def deb_package(tmp_path_factory):
    """The .deb built by the README's own build block, in a fresh build
    directory (the shared one is left alone); built once per run."""
    from walkthrough import build_deb
    return build_deb(str(tmp_path_factory.mktemp("deb") / "build-deb"))
