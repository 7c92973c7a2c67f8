"""Issue 18 acceptance: the Debian package and the install walkthrough.

- lintian on the .deb built by the README's build block: no error, no warning,
  no hardening tag at any level; every override documented with its reason;
- the maintainer scripts, run by dpkg against a scratch root (install, an
  operator's enable, upgrade, remove, purge);
- the README's walkthrough, as far as it goes without a running systemd: build,
  install (dpkg --root), the secrets, the configuration edits and the
  --check-config of the installed example with the credentials where systemd
  puts them ($CREDENTIALS_DIRECTORY);
- the renewald@.service template: systemd-analyze verify and security.

Like the other package tests they run in the plain pass of scripts/test only.
"""

import gzip
import os
import re
import shutil
import subprocess

import pytest

from conftest import REPO, RENEWALD_BIN
from walkthrough import README, dpkg_root, for_root, readme_block, run_script

BUILD = os.environ.get("RENEWALD_BUILD") or os.path.join(REPO, "build")
OVERRIDES = os.path.join(REPO, "packaging", "debian", "lintian-overrides")
TEMPLATE = os.path.join(REPO, "systemd", "renewald@.service")
MAX_EXPOSURE = 2.0

pytestmark = pytest.mark.skipif(
    BUILD.rstrip("/").endswith("build-asan"),
    reason="install and package tests run in the plain pass of scripts/test")


def tool(name, package):
    path = shutil.which(name)
    if not path:
        pytest.fail("%s not found: install the Debian package %s (scripts/deps)" % (name, package))
    return path


def run(args, env=None, timeout=300, check=True):
    e = dict(os.environ)
    for k in ("DESTDIR", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY"):
        e.pop(k, None)
    e.update({"SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "PAGER": "cat", "LC_ALL": "C.UTF-8"})
    e.update(env or {})
    cp = subprocess.run(args, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=timeout)
    cp = subprocess.CompletedProcess(cp.args, cp.returncode, cp.stdout.decode("utf-8", "replace"),
                                     cp.stderr.decode("utf-8", "replace"))
    if check:
        assert cp.returncode == 0, "%s exited %s:\n%s\n%s" % (" ".join(args), cp.returncode,
                                                             cp.stdout[-4000:], cp.stderr[-4000:])
    return cp


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        return re.search(r"project\(\s*renewald\s+VERSION\s+([0-9.]+)", f.read()).group(1)


# ---------------------------------------------------------------------------
# lintian


def lintian_tags(output):
    """[(level, tag, rest)] of lintian's output lines (E, W, I, P, O, X)."""
    tags = []
    for line in output.splitlines():
        m = re.match(r"^([EWIPXO]): renewald(?: \w+)?: (\S+)(.*)$", line)
        if m:
            tags.append(m.groups())
    return tags


def test_lintian_clean(deb_package):
    lintian = tool("lintian", "lintian")
    cp = run([lintian, "--display-info", "--pedantic", "--show-overrides", deb_package],
             check=False, timeout=600)
    out = cp.stdout + cp.stderr
    tags = lintian_tags(out)
    bad = [t for t in tags if t[0] in ("E", "W")]
    assert not bad and cp.returncode == 0, "lintian (rc %s):\n%s" % (cp.returncode, out)
    # Hardening: no hardening-* tag at any level (fortify and bindnow are info tags).
    hardening = [t for t in tags if t[1].startswith("hardening-")]
    assert not hardening, out
    # Every override in effect is in the overrides file with a comment above it,
    # and the README names it.
    with open(OVERRIDES) as f:
        lines = f.read().splitlines()
    with open(README) as f:
        readme = f.read()
    overridden = [t[1] for t in tags if t[0] == "O"]
    for tag in overridden:
        idx = [i for i, l in enumerate(lines) if re.match(r"^renewald: %s\b" % re.escape(tag), l)]
        assert idx, "override %s is not in %s" % (tag, OVERRIDES)
        assert idx[0] > 0 and lines[idx[0] - 1].startswith("#"), \
            "override %s has no comment with its reason above it" % tag
        assert tag in readme, "README does not mention the lintian override %s" % tag


def test_package_build_is_hardened(deb_package, tmp_path):
    """The binary in the package: PIE, full RELRO (BIND_NOW), fortified calls, a stack protector."""
    root = str(tmp_path / "x")
    run(["dpkg-deb", "-x", deb_package, root])
    exe = os.path.join(root, "usr/bin/renewald")
    dyn = run(["readelf", "-d", "-W", exe]).stdout
    assert re.search(r"FLAGS_1\).*\bNOW\b.*\bPIE\b", dyn), dyn
    assert "BIND_NOW" in dyn, dyn
    seg = run(["readelf", "-l", "-W", exe]).stdout
    assert "GNU_RELRO" in seg, seg
    syms = run(["readelf", "--dyn-syms", "-W", exe]).stdout
    assert re.search(r"__\w+_chk\b", syms), "no fortified (_chk) libc call"
    assert "__stack_chk_fail" in syms, "no stack protector"


def test_changelog_and_copyright(deb_package, tmp_path):
    root = str(tmp_path / "x")
    run(["dpkg-deb", "-x", deb_package, root])
    doc = os.path.join(root, "usr/share/doc/renewald")
    with gzip.open(os.path.join(doc, "changelog.Debian.gz"), "rt") as f:
        first = f.readline()
    assert first.startswith("renewald (%s-1) " % project_version()), \
        "packaging/debian/changelog's top entry is not %s-1: %r" % (project_version(), first)
    with open(os.path.join(doc, "copyright")) as f:
        text = f.read()
    assert text.startswith("Format: https://www.debian.org/doc/packaging-manuals/"
                           "copyright-format/1.0/\n"), text[:100]
    assert re.search(r"^Files: \*$", text, re.M) and re.search(r"^License: \S+", text, re.M)


# ---------------------------------------------------------------------------
# maintainer scripts, run by dpkg


def test_maintainer_scripts_install_enable_upgrade_remove_purge(deb_package, tmp_path):
    root = str(tmp_path / "root")
    systemctl = tool("systemctl", "systemd")
    wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants/renewald.service")
    mask = os.path.join(root, "etc/systemd/system/renewald.service")
    conf = os.path.join(root, "etc/renewald/renewald.conf")

    dpkg_root(root, "-i", deb_package)
    assert os.path.isfile(conf)
    assert not os.path.lexists(wants), "a first install must not enable the service"
    state = os.path.join(root, "var/lib/systemd/deb-systemd-helper-enabled")
    assert os.path.isdir(state), "postinst did not record the unit with deb-systemd-helper"

    # The operator enables it; an upgrade (the same version again) keeps it enabled
    # and keeps an edited conffile.
    run([systemctl, "--root=" + root, "enable", "renewald.service"])
    assert os.path.islink(wants)
    with open(conf, "a") as f:
        f.write("\n# edited by the operator\n")
    dpkg_root(root, "--force-confold", "-i", deb_package)
    assert os.path.islink(wants), "an upgrade disabled the service"
    with open(conf) as f:
        assert f.read().endswith("# edited by the operator\n")

    # remove: the unit is gone and masked, the configuration stays.
    dpkg_root(root, "-r", "renewald")
    assert not os.path.exists(os.path.join(root, "usr/bin/renewald"))
    assert os.path.islink(mask) and os.readlink(mask) == "/dev/null", "not masked after remove"
    assert os.path.isfile(conf)
    # purge: the configuration, the mask and deb-systemd-helper's records go.
    dpkg_root(root, "-P", "renewald")
    assert not os.path.exists(conf)
    assert not os.path.lexists(mask), "still masked after purge"
    assert not os.path.lexists(wants), "still enabled after purge"
    assert not os.path.exists(os.path.join(root, "lib/systemd/system/renewald.service"))


# ---------------------------------------------------------------------------
# the README's walkthrough


def dropin_credentials():
    """{name: path} of the LoadCredential= lines of the README's drop-in."""
    out = {}
    for line in readme_block("dropin").splitlines():
        m = re.match(r"^LoadCredential=([A-Za-z0-9_.-]+):(/\S+)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_walkthrough_commands(deb_package, tmp_path):
    root = str(tmp_path / "root")
    # 1. the package was built by the README's build block (the fixture); the
    # install line names the file it makes.
    install = re.search(r"sudo apt install (\./build-deb/\S+\.deb)", open(README).read())
    assert install, "README has no 'sudo apt install ./build-deb/….deb'"
    assert os.path.basename(install.group(1)) == os.path.basename(deb_package)
    # 2. install (into a scratch root)
    dpkg_root(root, "-i", deb_package)
    conf = os.path.join(root, "etc/renewald/renewald.conf")
    secrets = os.path.join(root, "etc/renewald/secrets")

    # 3. secrets, as the README writes them
    cp = run_script(for_root(readme_block("secrets"), root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert oct(os.stat(secrets).st_mode & 0o777) == "0o700"
    made = sorted(os.listdir(secrets))
    for name in made:
        assert os.stat(os.path.join(secrets, name)).st_mode & 0o077 == 0, name
    creds = dropin_credentials()
    assert sorted(creds) == made, "the drop-in's LoadCredential= lines %s != the files %s" % (
        sorted(creds), made)
    for name, path in creds.items():
        assert path == "/etc/renewald/secrets/" + name, (name, path)

    # 4. the configuration edits; every credential the file now reads is loaded
    cp = run_script(for_root(readme_block("config"), root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    with open(conf) as f:
        text = f.read()
    used = re.findall(r"^\w+_file\s*=\s*(\S+)", text, re.M)
    assert sorted(used) == made, "credentials the configuration reads: %s, files: %s" % (
        sorted(used), made)
    assert re.search(r'^\[sink "cs-slack"\]$', text, re.M), "the Slack sink is still commented"

    # 5. the check, with the credentials where systemd puts them
    check = for_root(readme_block("check"), root)
    cp = run_script(check)
    assert cp.returncode == 0 and cp.stdout.strip() == conf + ": ok", (check, cp.stdout,
                                                                       cp.stderr)
    # ... which fails, naming it, when a credential is missing
    os.unlink(os.path.join(secrets, "smtp_password"))
    cp = run_script(check)
    assert cp.returncode == 1 and "smtp_password" in cp.stderr, (cp.stdout, cp.stderr)


# ---------------------------------------------------------------------------
# the template unit


def instance_copy(tmp_path, name="renewald@p0.service"):
    with open(TEMPLATE) as f:
        text = f.read()
    path = tmp_path / name
    path.write_text(text.replace("/usr/bin/renewald", os.path.abspath(RENEWALD_BIN)))
    return str(path)


def test_template_unit_verifies(tmp_path):
    analyze = tool("systemd-analyze", "systemd")
    with open(TEMPLATE) as f:
        text = f.read()
    assert "ExecStart=/usr/bin/renewald -c /etc/renewald/%i.conf" in text
    assert "ExecReload=/usr/bin/renewald --check-config -c /etc/renewald/%i.conf" in text
    cp = run([analyze, "verify", "--man=no", instance_copy(tmp_path)], check=False)
    out = (cp.stdout + cp.stderr).strip()
    assert cp.returncode == 0 and not out, "systemd-analyze verify (rc %s):\n%s" % (
        cp.returncode, out)


def test_template_unit_security_exposure(tmp_path):
    analyze = tool("systemd-analyze", "systemd")
    cp = run([analyze, "security", "--offline=true", "--no-pager", instance_copy(tmp_path)],
             check=False)
    out = cp.stdout + cp.stderr
    m = re.search(r"Overall exposure level for renewald@p0\.service:\s*([0-9.]+)", out)
    assert m, out
    assert float(m.group(1)) <= MAX_EXPOSURE, out


def test_template_matches_the_main_unit():
    """The template differs from renewald.service only in its comments, its
    description and the %i paths: the sandbox is the same."""
    def settings(path):
        with open(path) as f:
            lines = [l.strip() for l in f if l.strip() and not l.lstrip().startswith(("#", ";"))]
        return [l for l in lines if not l.startswith("Description=")]
    main = [l.replace("/etc/renewald/renewald.conf", "/etc/renewald/%i.conf")
            for l in settings(os.path.join(REPO, "systemd", "renewald.service"))]
    assert settings(TEMPLATE) == main
