"""Issue 6 acceptance: running under systemd and being installed.

- the unit: systemd-analyze security exposure <= 2.0, the notify/reload/restart
  settings, systemd-analyze verify;
- sd_notify: READY=1, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on
  SIGTERM, WATCHDOG=1 and STATUS=, on a NOTIFY_SOCKET the test creates;
- the bearer token of /v1/* (token_file through $CREDENTIALS_DIRECTORY);
- man pages: render without warnings, cover every key of the loader's table;
- cmake --install into a DESTDIR, and the .deb built by CPack.

The install and package tests build and install; they run in the plain pass of
scripts/test only (RENEWALD_BUILD ending in build-asan skips them).
"""

import gzip
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading

import pytest

from conftest import (REPO, RENEWALD_BIN, base_config, free_port, render_config, run_renewald,
                      wait_until)

UNIT = os.path.join(REPO, "systemd", "renewald.service")
MAN8 = os.path.join(REPO, "man", "renewald.8")
MAN5 = os.path.join(REPO, "man", "renewald.conf.5")
CONFIG_TABLE = os.path.join(REPO, "daemon", "core", "config_table.c")
MAIN_C = os.path.join(REPO, "daemon", "main.c")
EXAMPLE_CONF = os.path.join(REPO, "conf", "renewald.conf")
BUILD = os.environ.get("RENEWALD_BUILD") or os.path.join(REPO, "build")
MAX_EXPOSURE = 2.0

# Debian 12 names of the shared libraries the binary links.
DEBIAN12_DEPENDS = ["libc6", "libevent-2.1-7", "libhiredis0.14", "libcurl4", "libjansson4",
                    "libinih1", "libssl3", "libsystemd0"]

skip_under_asan = pytest.mark.skipif(
    BUILD.rstrip("/").endswith("build-asan"),
    reason="install and package tests run in the plain pass of scripts/test")


def tool(name, package):
    """The path of NAME; fails (never skips) when it is missing."""
    path = shutil.which(name)
    if not path:
        pytest.fail("%s not found: install the Debian package %s (scripts/deps)" % (name, package))
    return path


def run(args, timeout=120, env=None, cwd=None, check=True):
    """Runs ARGS to completion (bounded); returns CompletedProcess with text output."""
    e = dict(os.environ)
    for k in ("DESTDIR", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY", "SYSTEMD_PAGER", "PAGER"):
        e.pop(k, None)
    e.update({"SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "PAGER": "cat", "LC_ALL": "C.UTF-8"})
    e.update(env or {})
    try:
        cp = subprocess.run(args, cwd=cwd, env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish within %ss" % (" ".join(args), timeout)) from None
    cp = subprocess.CompletedProcess(cp.args, cp.returncode, cp.stdout.decode("utf-8", "replace"),
                                     cp.stderr.decode("utf-8", "replace"))
    if check:
        assert cp.returncode == 0, "%s exited %s:\n%s\n%s" % (" ".join(args), cp.returncode,
                                                             cp.stdout[-4000:], cp.stderr[-4000:])
    return cp


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*renewald\s+VERSION\s+([0-9.]+)", f.read())
    assert m, "no project(renewald VERSION ...) in CMakeLists.txt"
    return m.group(1)


# ---------------------------------------------------------------------------
# the unit


def parse_unit(path):
    """{section: {key: [values...]}} of a unit file (comments and blanks skipped)."""
    out, sec = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                sec = out.setdefault(line[1:-1], {})
                continue
            assert sec is not None and "=" in line, "bad unit line: %r" % raw
            k, v = line.split("=", 1)
            sec.setdefault(k.strip(), []).append(v.strip())
    return out


def test_unit_security_exposure():
    analyze = tool("systemd-analyze", "systemd")
    cp = run([analyze, "security", "--offline=true", "--no-pager", UNIT], check=False)
    out = cp.stdout + cp.stderr
    m = re.search(r"Overall exposure level for renewald\.service:\s*([0-9]+(?:\.[0-9]+)?)", out)
    assert m, "no exposure level in the output of systemd-analyze security (rc %s):\n%s" % (
        cp.returncode, out)
    exposure = float(m.group(1))
    assert exposure <= MAX_EXPOSURE, "exposure %.1f > %.1f:\n%s" % (exposure, MAX_EXPOSURE, out)
    assert cp.returncode == 0, out


def test_unit_settings():
    unit = parse_unit(UNIT)
    svc = unit["Service"]

    def one(key):
        assert key in svc, "[Service] has no %s=" % key
        return svc[key][-1]

    assert one("Type") == "notify"
    assert one("NotifyAccess") == "main"
    assert re.fullmatch(r"[0-9]+(s|min)?", one("WatchdogSec")), one("WatchdogSec")
    assert one("ExecStart") == "/usr/bin/renewald -c /etc/renewald/renewald.conf"
    # A reload validates the file first; only then is the daemon signalled.
    reload = svc.get("ExecReload", [])
    assert len(reload) == 2, reload
    assert reload[0] == "/usr/bin/renewald --check-config -c /etc/renewald/renewald.conf"
    assert re.fullmatch(r"\S*kill -(HUP|s HUP|SIGHUP) \$MAINPID", reload[1]), reload[1]
    assert one("Restart") == "on-failure"
    assert "78" in one("RestartPreventExitStatus").split()
    assert one("DynamicUser") == "yes"
    assert one("UMask") == "0077"
    assert one("CapabilityBoundingSet") == ""
    assert one("RestrictAddressFamilies").split() == ["AF_UNIX", "AF_INET", "AF_INET6"]
    assert "@system-service" in svc["SystemCallFilter"][0].split()
    for key in ("ProtectSystem",):
        assert one(key) == "strict"
    for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome",
                "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                "ProtectControlGroups", "MemoryDenyWriteExecute"):
        assert one(key) == "yes", "%s=%s" % (key, one(key))
    # Secrets: LoadCredential= examples, commented out, whose names the K_file keys use.
    with open(UNIT) as f:
        text = f.read()
    creds = re.findall(r"^#\s*LoadCredential=([a-z_]+):/\S+$", text, re.M)
    assert "redis_password" in creds and "api_token" in creds, creds
    assert "LoadCredential" not in svc, "no LoadCredential= may be active in the shipped unit"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_unit_verifies(tmp_path):
    """systemd-analyze verify finds nothing to complain about (with ExecStart=
    pointing at the binary under test, since /usr/bin/renewald may not exist)."""
    analyze = tool("systemd-analyze", "systemd")
    with open(UNIT) as f:
        text = f.read()
    copy = tmp_path / "renewald.service"
    copy.write_text(text.replace("/usr/bin/renewald", os.path.abspath(RENEWALD_BIN)))
    cp = run([analyze, "verify", "--man=no", str(copy)], check=False)
    out = (cp.stdout + cp.stderr).strip()
    assert cp.returncode == 0 and not out, "systemd-analyze verify (rc %s):\n%s" % (
        cp.returncode, out)


# ---------------------------------------------------------------------------
# sd_notify


class NotifyListener:
    """The NOTIFY_SOCKET side of systemd: an AF_UNIX datagram socket in a short
    temporary directory, drained by a thread (a full queue would block the
    sender), recording (sender pid, assignment) for each line of each datagram."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rwn")  # sun_path is ~107 bytes
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.1)
        self.messages = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        ucred = struct.calcsize("iII")
        while not self.stopping.is_set():
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(ucred))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:ucred])[0]
            with self.lock:
                for line in data.decode("utf-8", "replace").split("\n"):
                    if line:
                        self.messages.append((pid, line))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def count(self):
        with self.lock:
            return len(self.messages)

    def wait_for(self, pred, after=0, timeout=60, what="notification", daemon=None):
        """Index of the first message at or after AFTER whose text satisfies PRED."""

        def find():
            if daemon is not None and not daemon.alive():
                raise AssertionError("daemon exited (%s):\n%s"
                                     % (daemon.proc.returncode, daemon.log_tail()))
            msgs = self.snapshot()
            for i in range(after, len(msgs)):
                if pred(msgs[i][1]):
                    return i + 1  # truthy even for index 0
            return None

        try:
            return wait_until(find, timeout=timeout, interval=0.05, what=what) - 1
        except AssertionError as e:
            raise AssertionError("%s\nreceived: %r" % (e, [m for _, m in self.snapshot()][-40:]))

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def notify_socket():
    listener = NotifyListener()
    yield listener
    listener.close()


def is_(text):
    return lambda m: m == text


def test_sd_notify_ready_reload_stopping(redis_server, daemon_factory, notify_socket):
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg, env={"NOTIFY_SOCKET": notify_socket.path})

    ready = notify_socket.wait_for(is_("READY=1"), what="READY=1", daemon=d)
    d.wait_healthy()
    # The housekeeping timer pings the watchdog and reports a status line.
    notify_socket.wait_for(is_("WATCHDOG=1"), what="WATCHDOG=1", daemon=d)
    notify_socket.wait_for(lambda m: m.startswith("STATUS=") and len(m) > 7, what="STATUS=",
                           daemon=d)

    # SIGHUP: RELOADING=1, then READY=1 once the new configuration is in place.
    mark = notify_socket.count()
    d.signal(signal.SIGHUP)
    reloading = notify_socket.wait_for(is_("RELOADING=1"), after=mark, what="RELOADING=1",
                                       daemon=d)
    assert reloading > ready
    notify_socket.wait_for(is_("READY=1"), after=reloading + 1, what="READY=1 after a reload",
                           daemon=d)

    # An invalid file is rejected, but the reload still ends with READY=1.
    d.write_config("[daemon]\nclock = sometimes\n[http]\nlisten = 127.0.0.1:%d\n" % d.port)
    mark = notify_socket.count()
    d.signal(signal.SIGHUP)
    reloading = notify_socket.wait_for(is_("RELOADING=1"), after=mark,
                                       what="RELOADING=1 (invalid file)", daemon=d)
    notify_socket.wait_for(is_("READY=1"), after=reloading + 1,
                           what="READY=1 after a rejected reload", daemon=d)
    assert d.alive()
    d.wait_healthy()

    # SIGTERM: STOPPING=1, then exit 0.
    mark = notify_socket.count()
    d.signal(signal.SIGTERM)
    notify_socket.wait_for(is_("STOPPING=1"), after=mark, what="STOPPING=1")
    assert d.wait_exit(60) == 0, d.log_tail()

    # NotifyAccess=main: every notification came from the main process itself.
    msgs = notify_socket.snapshot()
    senders = {pid for pid, _ in msgs}
    assert senders == {d.pid}, "notifications from %r, daemon pid %d" % (senders, d.pid)
    # Nothing after STOPPING=1 claims to be ready again.
    stop = max(i for i, (_, m) in enumerate(msgs) if m == "STOPPING=1")
    assert not [m for _, m in msgs[stop:] if m in ("READY=1", "RELOADING=1")], msgs[stop:]


def test_no_notify_socket_is_fine(redis_server, daemon_factory):
    """Without NOTIFY_SOCKET (a plain foreground run) nothing breaks."""
    d = daemon_factory(base_config(redis_server.port, free_port()))
    d.wait_healthy()
    d.signal(signal.SIGHUP)
    d.wait_healthy()
    assert d.stop() == 0, d.log_tail()


# ---------------------------------------------------------------------------
# the bearer token


def test_token_protects_v1_only(redis_server, daemon_factory, tmp_path):
    token = secrets.token_hex(24)
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "api_token").write_text(token + "\n")  # one trailing newline is stripped
    os.chmod(str(creds / "api_token"), 0o600)
    port = free_port()
    cfg = base_config(redis_server.port, port,
                      http={"listen": "127.0.0.1:%d" % port, "token_file": "api_token"})
    # A relative token_file resolves against $CREDENTIALS_DIRECTORY (LoadCredential=).
    d = daemon_factory(cfg, env={"CREDENTIALS_DIRECTORY": str(creds)})
    d.wait_healthy()

    for path in ("/v1/accounts", "/v1/accounts/acct-1", "/v1/accounts?band=at_risk"):
        status, hdrs, _ = d.request(path)
        assert status == 401, (path, status)
        assert hdrs.get("www-authenticate", "").lower().startswith("bearer"), hdrs
    wrong = [
        {"Authorization": "Bearer " + secrets.token_hex(24)},   # same length, other token
        {"Authorization": "Bearer " + token[:-1]},               # a prefix
        {"Authorization": "Bearer " + token + "x"},              # longer
        {"Authorization": "Bearer"},
        {"Authorization": "Basic " + token},
        {"Authorization": token},
    ]
    for h in wrong:
        assert d.get("/v1/accounts", headers=h)[0] == 401, h

    good = {"Authorization": "Bearer " + token}
    status, body = d.get("/v1/accounts", headers=good)
    assert status == 200, (status, body)
    assert isinstance(body, dict) and body.get("accounts") == [], body
    assert d.get("/v1/accounts/acct-1", headers=good)[0] == 404

    # /healthz and /metrics stay open.
    status, body = d.get("/healthz")
    assert status == 200 and body.strip() == "ok", (status, body)
    status, _, data = d.get_raw("/metrics")
    assert status == 200 and b"renewald_build_info" in data
    # The token never reaches the log.
    assert token not in d.log_text()
    assert d.stop() == 0, d.log_tail()


def test_token_file_missing_is_a_config_error(tmp_path):
    cfg = base_config(6379, 9187, http={"listen": "127.0.0.1:9187", "token_file": "nope"})
    path = tmp_path / "renewald.conf"
    path.write_text(render_config(cfg))
    cp = run_renewald(["--check-config", "-c", str(path)],
                      env={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "token" in cp.stderr and os.path.join(str(tmp_path), "nope") in cp.stderr, cp.stderr


# ---------------------------------------------------------------------------
# man pages


def roff_text(s):
    """Roff source -> plain words: macros' names, font changes and escapes removed."""
    s = re.sub(r"^\.\\\".*$", "", s, flags=re.M)
    s = re.sub(r"^\.[A-Za-z]+ ?", "", s, flags=re.M)
    s = re.sub(r"\\f[BIRP]", "", s)
    for a, b in (("\\&", ""), ("\\-", "-"), ("\\(dq", '"'), ("\\(aq", "'"), ("\\e", "\\")):
        s = s.replace(a, b)
    return re.sub(r"\s+", " ", s.replace('"', ' " ')).strip()


def loader_keys():
    """[(section, key, flags, default or None)] from the loader's key table."""
    with open(CONFIG_TABLE) as f:
        src = f.read()
    arrays = dict(re.findall(r"static const struct key_def (\w+)\[\] = \{(.*?)\n\};", src, re.S))
    assert arrays, "no key tables found in %s" % CONFIG_TABLE
    sections = re.findall(r'\[SEC_\w+\] = \{"(\w+)", (?:true|false), (\w+), N\(\w+\)\}', src)
    assert sections, "no section table found in %s" % CONFIG_TABLE
    rows = []
    for name, array in sections:
        entries = re.findall(r'\{"(\w+)", KT_\w+, ([^,]+),(.*?)\}(?=,\s*(?:\{|$))',
                             arrays[array], re.S)
        assert entries, "no keys in %s" % array
        for key, flags, rest in entries:
            m = re.search(r'\.def = "([^"]*)"', rest)
            rows.append((name, key, flags.strip(), m.group(1) if m else None))
    return rows


def man_sections(path):
    """{section name: {key: entry text}} from the .SS "[section ...]" parts."""
    with open(path) as f:
        src = f.read()
    out = {}
    parts = re.split(r'^\.SS "\[(\w+)[^\]]*\]"\n', src, flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        body = re.split(r"^\.S[HS] ", body, flags=re.M)[0]
        entries = {}
        for entry in re.split(r"^\.TP\n", body, flags=re.M)[1:]:
            m = re.match(r"\.B (\w+)\n(.*)", entry, re.S)
            assert m, "a .TP entry of [%s] does not start with .B KEY: %r" % (name, entry[:80])
            entries[m.group(1)] = roff_text(m.group(2))
        out[name] = entries
    return out


def test_man_conf_covers_every_key():
    rows = loader_keys()
    assert len(rows) > 40, rows
    man = man_sections(MAN5)
    missing, stale, bad_default = [], [], []
    for sec, key, flags, default in rows:
        entry = man.get(sec, {}).get(key)
        if entry is None:
            missing.append("[%s] %s" % (sec, key))
            continue
        if default is not None:
            if not re.search(r"Default: %s(?!\w)" % re.escape(default), entry):
                bad_default.append("[%s] %s: default %r not in %r" % (sec, key, default, entry))
        elif "KF_REQUIRED" in flags:
            if "Required" not in entry:
                bad_default.append("[%s] %s: required, not said so" % (sec, key))
        elif "Default:" not in entry and "Required for" not in entry:
            bad_default.append("[%s] %s: no Default: (none, or its conditional default)"
                               % (sec, key))
    known = {(s, k) for s, k, _, _ in rows}
    for sec, entries in man.items():
        for key in entries:
            if (sec, key) not in known:
                stale.append("[%s] %s" % (sec, key))
    assert not missing, "keys of daemon/config_table.c missing in man/renewald.conf.5: %s" % missing
    assert not stale, "man/renewald.conf.5 documents keys the loader does not know: %s" % stale
    assert not bad_default, "\n".join(bad_default)
    assert set(man) == {s for s, _, _, _ in rows}


def test_man_conf_example_is_valid(tmp_path):
    """The EXAMPLE of renewald.conf(5) passes --check-config (with its secret files)."""
    with open(MAN5) as f:
        src = f.read()
    m = re.search(r"^\.SH EXAMPLE\n\.EX\n(.*?)^\.EE$", src, re.S | re.M)
    assert m, "no .SH EXAMPLE with .EX/.EE in renewald.conf.5"
    text = m.group(1).replace("\\-", "-").replace("\\&", "")
    creds = tmp_path / "creds"
    creds.mkdir()
    for key, name in re.findall(r"^(\w+)_file = (\S+)", text, re.M):
        value = "https://hooks.example.com/%s" % name if key == "url" else "secret-" + name
        (creds / name).write_text(value + "\n")
    path = tmp_path / "example.conf"
    path.write_text(text)
    cp = run_renewald(["--check-config", "-c", str(path)],
                      env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_man_pages_render_without_warnings():
    groff = tool("groff", "groff-base")
    for page in (MAN8, MAN5):
        cp = run([groff, "-man", "-Tutf8", "-ww", "-z", page], check=False)
        assert cp.returncode == 0 and not cp.stderr.strip(), "%s:\n%s" % (page, cp.stderr)
        with open(page) as f:
            first = [l for l in f if l.startswith(".TH ")][0]
        assert ('"renewald %s"' % project_version()) in first, \
            "%s: .TH names another version than CMakeLists.txt: %s" % (page, first)


def test_man8_documents_the_interface():
    with open(MAN8) as f:
        text = roff_text(f.read())
    with open(MAIN_C) as f:
        main = f.read()
    for opt in re.findall(r'\{"([a-z-]+)", (?:no|required)_argument', main):
        assert "--" + opt in text, "--%s of main.c is not in renewald(8)" % opt
    for word in ("SIGHUP", "SIGTERM", "SIGINT", "READY=1", "RELOADING=1", "STOPPING=1",
                 "WATCHDOG=1", "STATUS=", "CREDENTIALS_DIRECTORY", "JOURNAL_STREAM",
                 "NOTIFY_SOCKET", "/etc/renewald/renewald.conf", "/healthz", "/metrics",
                 "Authorization: Bearer", "EX_USAGE", "EX_CONFIG"):
        assert word in text, "%r is not in renewald(8)" % word
    m = re.search(r"EXIT STATUS (.*?) ENVIRONMENT", text)
    assert m, "no EXIT STATUS before ENVIRONMENT in renewald(8)"
    assert re.findall(r"(?:^| )(0|1|64|78) ", m.group(1)) == ["0", "1", "64", "78"], m.group(1)


# ---------------------------------------------------------------------------
# cmake --install


def check_layout(root, unitdirs=("lib/systemd/system", "usr/lib/systemd/system")):
    """Checks the files of a /usr installation under ROOT; returns the unit's path."""
    exe = os.path.join(root, "usr/bin/renewald")
    assert os.path.isfile(exe) and os.access(exe, os.X_OK), exe
    conf = os.path.join(root, "etc/renewald/renewald.conf")
    assert os.path.isfile(conf), "no etc/renewald/renewald.conf under %s" % root
    with open(conf) as f, open(EXAMPLE_CONF) as g:
        assert f.read() == g.read()
    units = [os.path.join(root, d, "renewald.service") for d in unitdirs]
    units = [u for u in units if os.path.isfile(u)]
    assert len(units) == 1, "the unit must be in exactly one of %s under %s" % (unitdirs, root)
    with open(units[0]) as f, open(UNIT) as g:
        assert f.read() == g.read(), "the unit installed for prefix /usr differs from the source"
    for sect, src in (("8", MAN8), ("5", MAN5)):
        name = os.path.basename(src)
        gz = os.path.join(root, "usr/share/man/man%s/%s.gz" % (sect, name))
        plain = os.path.join(root, "usr/share/man/man%s/%s" % (sect, name))
        assert os.path.isfile(gz) or os.path.isfile(plain), "no man page %s" % name
        with open(src, "rb") as g:
            want = g.read()
        if os.path.isfile(gz):
            with gzip.open(gz) as f:
                assert f.read() == want, gz
        else:
            with open(plain, "rb") as f:
                assert f.read() == want, plain
    return units[0]


@skip_under_asan
def test_cmake_install_destdir(tmp_path):
    cmake = tool("cmake", "cmake")
    assert os.path.isfile(os.path.join(BUILD, "cmake_install.cmake")), \
        "%s is not a configured build directory (set RENEWALD_BUILD)" % BUILD
    root = str(tmp_path / "root")
    run([cmake, "--install", BUILD, "--prefix", "/usr"], env={"DESTDIR": root}, timeout=120)
    check_layout(root)
    # Nothing lands outside the DESTDIR's /usr, /etc and /lib.
    top = sorted(os.listdir(root))
    assert set(top) <= {"usr", "etc", "lib"}, top

    conf = os.path.join(root, "etc/renewald/renewald.conf")
    exe = os.path.join(root, "usr/bin/renewald")
    cp = run_renewald(["--check-config", "-c", conf], binary=exe)
    assert cp.returncode == 0 and cp.stdout.strip() == "%s: ok" % conf, cp.stdout + cp.stderr

    # A re-install keeps an operator's configuration.
    with open(conf, "a") as f:
        f.write("\n# edited by the operator\n")
    run([cmake, "--install", BUILD, "--prefix", "/usr"], env={"DESTDIR": root}, timeout=120)
    with open(conf) as f:
        assert f.read().endswith("# edited by the operator\n")


@skip_under_asan
def test_cmake_install_other_prefix(tmp_path):
    """With another prefix the unit lives under it and names the right paths."""
    cmake = tool("cmake", "cmake")
    root = str(tmp_path / "root")
    run([cmake, "--install", BUILD, "--prefix", "/opt/renewald"], env={"DESTDIR": root},
        timeout=120)
    unit = os.path.join(root, "opt/renewald/lib/systemd/system/renewald.service")
    assert os.path.isfile(unit)
    assert os.path.isfile(os.path.join(root, "opt/renewald/bin/renewald"))
    conf = os.path.join(root, "etc/opt/renewald/renewald/renewald.conf")
    assert os.path.isfile(conf)
    svc = parse_unit(unit)["Service"]
    assert svc["ExecStart"] == [
        "/opt/renewald/bin/renewald -c /etc/opt/renewald/renewald/renewald.conf"]
    assert svc["ExecReload"][0] == \
        "/opt/renewald/bin/renewald --check-config -c /etc/opt/renewald/renewald/renewald.conf"


# ---------------------------------------------------------------------------
# the .deb


# deb_package: the session fixture of conftest.py (the README's build block).


def deb_field(deb, field):
    return run(["dpkg-deb", "-f", deb, field]).stdout.strip()


@skip_under_asan
def test_deb_control(deb_package):
    deb = deb_package
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    assert os.path.basename(deb) == "renewald_%s-1_%s.deb" % (project_version(), arch)
    assert deb_field(deb, "Package") == "renewald"
    assert deb_field(deb, "Version") == project_version() + "-1"
    assert deb_field(deb, "Architecture") == arch
    assert deb_field(deb, "Section") == "net"
    assert deb_field(deb, "Priority") == "optional"
    assert "@" in deb_field(deb, "Maintainer")
    assert deb_field(deb, "Description").startswith("account health")
    depends = [d.strip().split()[0] for d in deb_field(deb, "Depends").split(",")]
    for lib in DEBIAN12_DEPENDS:
        assert lib in depends, "%s not in Depends: %s" % (lib, depends)
    # Every dependency is a package this Debian system knows, installed here.
    for pkg in depends:
        cp = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
        assert "install ok installed" in cp.stdout, "dependency %s is not installed here" % pkg


@skip_under_asan
def test_deb_contents(deb_package, tmp_path):
    deb = deb_package
    root = str(tmp_path / "root")
    run(["dpkg", "-x", deb, root])
    unit = check_layout(root)
    assert os.path.relpath(unit, root) in ("lib/systemd/system/renewald.service",
                                           "usr/lib/systemd/system/renewald.service")
    exe = os.path.join(root, "usr/bin/renewald")
    cp = run([exe, "--version"])
    assert cp.stdout.strip() == "renewald %s" % project_version()
    conf = os.path.join(root, "etc/renewald/renewald.conf")
    cp = run_renewald(["--check-config", "-c", conf], binary=exe)
    assert cp.returncode == 0, cp.stdout + cp.stderr

    # The archive's own listing: root-owned, nothing but our files and their directories.
    listing = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
    files = []
    for line in listing:
        parts = line.split()
        assert parts[1] == "root/root", line
        if not parts[0].startswith("d"):
            files.append(parts[-1].lstrip("."))
    assert sorted(files) == sorted([
        "/usr/bin/renewald", "/etc/renewald/renewald.conf",
        os.path.join("/", os.path.relpath(unit, root)),
        os.path.join("/", os.path.relpath(unit, root)).replace("renewald.service",
                                                              "renewald@.service"),
        "/usr/share/man/man8/renewald.8.gz", "/usr/share/man/man5/renewald.conf.5.gz",
        "/usr/share/doc/renewald/copyright", "/usr/share/doc/renewald/changelog.Debian.gz",
        "/usr/share/lintian/overrides/renewald"]), files


@skip_under_asan
def test_deb_conffiles_and_scripts(deb_package, tmp_path):
    ctl = str(tmp_path / "DEBIAN")
    run(["dpkg-deb", "-e", deb_package, ctl])
    with open(os.path.join(ctl, "conffiles")) as f:
        conffiles = f.read().split()
    assert conffiles == ["/etc/renewald/renewald.conf"], conffiles
    # Every file the package puts in /etc is a conffile (Debian policy 10.7.2).
    listing = run(["dpkg-deb", "-c", deb_package]).stdout.splitlines()
    etc = [l.split()[-1].lstrip(".") for l in listing
           if l.split()[-1].startswith("./etc/") and not l.startswith("d")]
    assert sorted(etc) == sorted(conffiles), etc
    assert os.path.isfile(os.path.join(ctl, "md5sums"))
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(ctl, script)
        if os.path.exists(path):
            assert os.access(path, os.X_OK), script
            run(["sh", "-n", path])


@skip_under_asan
def test_deb_installs_on_this_system(deb_package):
    """apt resolves the package's dependencies on this Debian system (a
    simulation: nothing is installed)."""
    apt = tool("apt-get", "apt")
    cp = run([apt, "-s", "-o", "Debug::NoLocking=1", "install", deb_package], timeout=120,
             check=False)
    out = cp.stdout + cp.stderr
    assert cp.returncode == 0, out
    assert re.search(r"^Inst renewald ", out, re.M), out
    assert not re.search(r"^(Inst|Remv) (?!renewald )", out, re.M), \
        "installing renewald would change other packages:\n" + out
