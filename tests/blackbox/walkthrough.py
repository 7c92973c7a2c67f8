"""The README's install walkthrough as data: its marked shell blocks
(<!-- walkthrough:NAME --> before a fenced block), and the Debian package
built by running the README's own build block."""

import os
import re
import subprocess

from conftest import REPO

README = os.path.join(REPO, "README.md")


def readme_block(name, marker="walkthrough"):
    """The text of the fenced block right after <!-- MARKER:NAME --> in the README."""
    with open(README) as f:
        text = f.read()
    m = re.search(r"<!-- %s:%s -->\s*\n```[a-z]*\n(.*?)\n```" % (marker, re.escape(name)), text,
                  re.S)
    assert m, "README has no block marked <!-- %s:%s -->" % (marker, name)
    return m.group(1)


def for_root(script, root):
    """SCRIPT as it would run against an installed system, pointed at ROOT
    instead: no sudo, /etc/renewald and the renewald binary under ROOT."""
    script = re.sub(r"\bsudo\s+", "", script)
    script = script.replace("/etc/renewald", os.path.join(root, "etc/renewald"))
    script = re.sub(r"(?<![\w/.-])renewald(?= --check-config)",
                    os.path.join(root, "usr/bin/renewald"), script)
    return script


def run_script(script, cwd=REPO, env=None, timeout=900):
    """Runs SCRIPT with bash -e (bounded); returns CompletedProcess with text output."""
    e = dict(os.environ)
    for k in ("DESTDIR", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY"):
        e.pop(k, None)
    e["LC_ALL"] = "C.UTF-8"
    e.update(env or {})
    try:
        cp = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=e,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("did not finish within %ss:\n%s" % (timeout, script)) from None
    return subprocess.CompletedProcess(cp.args, cp.returncode,
                                       cp.stdout.decode("utf-8", "replace"),
                                       cp.stderr.decode("utf-8", "replace"))


def build_deb(build_dir):
    """Runs the README's build block with its build-deb directory at BUILD_DIR;
    returns the path of the one .deb it made."""
    script = readme_block("build").replace("build-deb", build_dir)
    cp = run_script(script)
    assert cp.returncode == 0, "the README's build block failed (%s):\n%s\n%s" % (
        cp.returncode, cp.stdout[-3000:], cp.stderr[-3000:])
    debs = [f for f in os.listdir(build_dir) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    return os.path.join(build_dir, debs[0])


def dpkg_root(root, *args):
    """dpkg against the scratch ROOT: its own database; maintainer scripts run on
    this host with DPKG_ROOT=ROOT (deb-systemd-helper honours it); the library
    dependencies are this host's, not ROOT's."""
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for f in ("var/lib/dpkg/status", "var/lib/dpkg/available"):
        open(os.path.join(root, f), "a").close()
    cmd = ["dpkg", "--root=" + root, "--force-script-chrootless", "--force-depends",
           "--log=/dev/null"] + list(args)
    cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=300)
    out = cp.stdout.decode("utf-8", "replace") + cp.stderr.decode("utf-8", "replace")
    assert cp.returncode == 0, "%s exited %s:\n%s" % (" ".join(cmd), cp.returncode, out)
    return out
