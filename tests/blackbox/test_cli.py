"""Issue 2 acceptance: command line, --check-config, exit codes, SIGHUP reload,
SIGTERM/SIGINT shutdown (SPEC §5, §7)."""

import json
import os
import re
import signal

import pytest

from conftest import (EVENT_STREAMS, REPO, base_config, free_port, render_config,
                      run_renewald, wait_consumed, wait_until)

EX_USAGE = 64
EX_CONFIG = 78

# Line numbers matter: the unknown section is on line 3, the bad aggregate on line 13.
BROKEN = """\
[daemon]
clock = event
[bogus]
answer = 42
[redis]
address = 127.0.0.1:6379
streams = events:usage

[signal "logins"]
types = login
half_life = 7d
low = 0
aggregate = median
high = 1
"""
BROKEN_LINES = (3, 13)

# Several kinds of errors, each on a known line.
MANY_ERRORS = """\
[daemon]
clock = event
sweep_interval = 7x
colour = blue
[redis]
address = 127.0.0.1:6379
streams = events:usage
[signal "logins"]
types = login
aggregate = rate
half_life = 7d
low = 0
high = 1
[sink "log"]
type = log
[route "all"]
sinks = log, nope
"""
MANY_LINES = (3, 4, 17)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def output(cp):
    return cp.stdout + cp.stderr


def test_check_config_repo_example():
    path = os.path.join("conf", "renewald.conf")
    assert os.path.exists(os.path.join(REPO, path)), "the repo has no conf/renewald.conf"
    cp = run_renewald(["--check-config", "-c", path], cwd=REPO)
    assert cp.returncode == 0, output(cp)
    lines = [l.strip() for l in output(cp).splitlines()]
    assert "%s: ok" % path in lines or "%s: ok" % os.path.join(REPO, path) in lines, output(cp)


def test_check_config_test_config_ok(tmp_path):
    path = write(tmp_path, "good.conf", render_config(base_config(6379, 9187)))
    cp = run_renewald(["--check-config", "-c", path])
    assert cp.returncode == 0, output(cp)
    assert "%s: ok" % path in [l.strip() for l in output(cp).splitlines()], output(cp)


def test_check_config_reports_every_error_with_file_and_line(tmp_path):
    path = write(tmp_path, "broken.conf", BROKEN)
    cp = run_renewald(["--check-config", "-c", path])
    assert cp.returncode == 1, output(cp)
    out = output(cp)
    for line in BROKEN_LINES:
        assert re.search(r"(^|\s)%s:%d: \S" % (re.escape(path), line), out, re.M), \
            "no '%s:%d: ...' in:\n%s" % (path, line, out)
    assert "%s: ok" % path not in out


def test_check_config_several_error_kinds(tmp_path):
    path = write(tmp_path, "many.conf", MANY_ERRORS)
    cp = run_renewald(["--check-config", "-c", path])
    assert cp.returncode == 1, output(cp)
    out = output(cp)
    for line in MANY_LINES:
        assert re.search(r"(^|\s)%s:%d: \S" % (re.escape(path), line), out, re.M), \
            "no '%s:%d: ...' in:\n%s" % (path, line, out)


def test_check_config_missing_file(tmp_path):
    path = str(tmp_path / "does-not-exist.conf")
    cp = run_renewald(["--check-config", "-c", path])
    assert cp.returncode == 1, output(cp)
    assert path in output(cp)


def test_start_with_broken_config_exits_78(tmp_path, daemon_factory):
    d = daemon_factory(BROKEN)
    rc = d.wait_exit(30)
    assert rc == EX_CONFIG, "exit %r, log:\n%s" % (rc, d.log_text())
    assert "%s:3:" % d.config_path in d.log_text(), d.log_text()


def test_start_with_missing_config_exits_78(tmp_path):
    cp = run_renewald(["-c", str(tmp_path / "nope.conf")])
    assert cp.returncode == EX_CONFIG, output(cp)


def test_version():
    cp = run_renewald(["--version"])
    assert cp.returncode == 0, output(cp)
    assert re.search(r"\d+\.\d+(\.\d+)?", cp.stdout), cp.stdout


def test_help():
    cp = run_renewald(["--help"])
    assert cp.returncode == 0, output(cp)
    assert "usage" in output(cp).lower(), output(cp)
    assert "--check-config" in output(cp)


def test_unknown_option():
    cp = run_renewald(["--frobnicate"])
    assert cp.returncode == EX_USAGE, output(cp)
    assert "usage" in output(cp).lower(), output(cp)


def _reload_lines(text):
    return [l for l in text.splitlines() if "reload" in l.lower()]


FAIL_WORDS = ("fail", "error", "invalid", "keep", "kept", "old", "reject")


def test_sighup_with_broken_file_keeps_old_config(redis_server, daemon_factory):
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    offset = d.log_size()
    with open(d.config_path, "w") as f:
        f.write(BROKEN)
    d.signal(signal.SIGHUP)

    def failure_logged():
        text = d.log_since(offset)
        # a reload line saying it failed, or the new file's error with FILE:LINE
        return ([l for l in _reload_lines(text) if any(w in l.lower() for w in FAIL_WORDS)]
                or "%s:3:" % d.config_path in text)

    wait_until(failure_logged, timeout=30, what="a reload failure in the log")
    assert d.alive(), d.log_tail()
    status, body = d.get("/healthz")
    assert status == 200, (status, body)
    # still consuming with the old configuration
    r = redis_server.client()
    r.xadd("events:usage", {"event": json.dumps({"account": "after-hup", "type": "login"})})
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    status, body = d.get("/v1/accounts/after-hup")
    assert status == 200, (status, body)
    d.signal(signal.SIGTERM)
    rc = d.wait_exit(30)
    assert rc == 0, "exit %r after SIGTERM:\n%s" % (rc, d.log_tail())


def test_sighup_with_valid_changed_file_reloads(redis_server, daemon_factory):
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    offset = d.log_size()
    cfg["daemon"]["log_level"] = "info"
    d.write_config(cfg)
    d.signal(signal.SIGHUP)

    def reloaded():
        return [l for l in _reload_lines(d.log_since(offset))
                if not any(w in l.lower() for w in ("fail", "error", "invalid"))
                and re.search(r"reloaded|reload\w*\W+(ok|complete|done|succe|applied)",
                              l.lower())]

    wait_until(reloaded, timeout=30, what="'reloaded' in the log")
    assert d.alive()
    assert d.get("/healthz")[0] == 200
    d.signal(signal.SIGTERM)
    assert d.wait_exit(30) == 0, d.log_tail()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_exit_0(redis_server, daemon_factory, sig):
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    d.signal(sig)
    rc = d.wait_exit(30)
    assert rc == 0, "exit %r after %s:\n%s" % (rc, sig, d.log_tail())
