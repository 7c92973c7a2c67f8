"""Issue 18: the demo as a person runs it, its output read as text.

scripts/demo on a small book: exits 0; its report has no terminal escape codes
when stdout and stderr are not terminals and nothing of apt's or the build's
output; it names the web page while it runs, and shows one Slack message and
one e-mail as their receivers got them.  It builds in build/ like a person's
run, so it runs in the plain pass of scripts/test only."""

import os
import re
import subprocess

import pytest

from conftest import REPO

BUILD = os.environ.get("RENEWALD_BUILD") or os.path.join(REPO, "build")


@pytest.mark.skipif(BUILD.rstrip("/").endswith("build-asan"),
                    reason="the demo builds build/; it runs in the plain pass")
def test_demo_report_is_plain_text():
    env = dict(os.environ, DEMO_ACCOUNTS="300", DEMO_DAYS="60", DEMO_SEED="7")
    for k in ("NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY"):
        env.pop(k, None)
    try:
        cp = subprocess.run([os.path.join(REPO, "scripts", "demo")], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=600)
    except subprocess.TimeoutExpired:
        raise AssertionError("scripts/demo did not finish within 600 s") from None
    out = cp.stdout.decode("utf-8", "replace")
    err = cp.stderr.decode("utf-8", "replace")
    assert cp.returncode == 0, "scripts/demo exited %s:\n%s\n%s" % (cp.returncode, out, err)
    both = out + err
    assert "\x1b" not in both, "escape codes in the demo's output"
    for noise in ("Reading package lists", "Setting up ", "Unpacking ", "-- Configuring done",
                  "Building C object", "[100%]"):
        assert noise not in both, "apt or build output in the report: %r" % noise
    m = re.search(r"web page is (http://127\.0\.0\.1:\d+/)", err)
    assert m, err
    assert "== one Slack message" in out and "== one e-mail" in out, out
    slack = out[out.index("== one Slack message"):out.index("== one e-mail")]
    assert re.search(r"^  \| \S", slack, re.M), slack
    mail = out[out.index("== one e-mail"):]
    assert re.search(r"^  \| Subject: \[renewald\] ", mail, re.M), mail[:2000]
    assert re.search(r"^  \| From: ", mail, re.M) and re.search(r"^  \| To: ", mail, re.M)
    assert "== worklist" in out
