"""The Debian package, consumed by the real tools: built with CPack from this
build tree, `lintian` reports no errors, `dpkg -i` installs it (system user,
modes, conffile), the service user runs `check-config` and `migrate` against
the installed configuration, `dpkg -r` keeps the state and the configuration,
and `dpkg --purge` leaves nothing behind.

It installs into this machine's /usr/bin and /etc (as the test machine's root,
like `.ci/run`); it refuses to run when a fleetcommand package is already
installed rather than purge someone's deployment."""
import glob
import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

import fctest

BUILD = os.environ.get("FC_BUILD_DIR", "")
STATE = "/var/lib/fleetcommand"
CONF = "/etc/fleetcommand/fleetcommand.json"


def run(*args, check=True, timeout=300, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def installed():
    r = run("dpkg-query", "-W", "-f=${Status}", "fleetcommand", check=False)
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


def mode_owner(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


class DebianPackageTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the package test installs with dpkg and needs root (as .ci/run does)")
        if not os.path.exists(os.path.join(BUILD, "CPackConfig.cmake")):
            self.fail(f"no CPackConfig.cmake in FC_BUILD_DIR={BUILD!r}")
        if installed():
            self.skipTest("a fleetcommand package is installed on this machine; not touching it")
        for tool in ("cpack", "lintian", "dpkg-deb"):
            self.assertIsNotNone(shutil.which(tool), f"{tool} missing")
        self.dir = tempfile.mkdtemp(prefix="fc-deb-")
        # Package scripts must not start the service on a machine running
        # systemd (the deb-systemd-invoke policy hook, as install-deps.sh does).
        self.policy = None
        if not os.path.exists("/usr/sbin/policy-rc.d"):
            self.policy = "/usr/sbin/policy-rc.d"
            with open(self.policy, "w") as f:
                f.write("#!/bin/sh\nexit 101\n")
            os.chmod(self.policy, 0o755)

    def tearDown(self):
        if installed():
            run("dpkg", "--purge", "fleetcommand", check=False)
        if self.policy:
            os.remove(self.policy)
        shutil.rmtree(self.dir, ignore_errors=True)

    def build_package(self):
        run("cpack", "-G", "DEB", "-B", self.dir, cwd=BUILD, timeout=600)
        debs = glob.glob(os.path.join(self.dir, "fleetcommand_*.deb"))
        self.assertEqual(len(debs), 1, os.listdir(self.dir))
        print(f"package {os.path.basename(debs[0])}: {os.path.getsize(debs[0]) // 1024} KiB")
        return debs[0]

    def check_installed_files(self):
        self.assertEqual(mode_owner("/usr/bin/fleetcommand"), (0o755, "root", "root"))
        self.assertEqual(mode_owner("/etc/fleetcommand"), (0o750, "root", "fleetcommand"))
        self.assertEqual(mode_owner(CONF), (0o640, "root", "fleetcommand"))
        self.assertEqual(mode_owner(STATE), (0o750, "fleetcommand", "fleetcommand"))
        for unit in ("fleetcommand.service", "fleetcommand-agent@.service"):
            self.assertEqual(mode_owner(f"/lib/systemd/system/{unit}")[0], 0o644)
        user = pwd.getpwnam("fleetcommand")
        self.assertLess(user.pw_uid, 1000, "not a system user")
        self.assertIn("nologin", user.pw_shell)
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "fleetcommand").stdout
        self.assertIn(CONF, conffiles)

    def run_as_service_user(self):
        r = run("runuser", "-u", "fleetcommand", "--", "/usr/bin/fleetcommand", "check-config",
                "--config", CONF, cwd=STATE)
        self.assertIn(f"{STATE}/fleetcommand.db", r.stdout)
        run("runuser", "-u", "fleetcommand", "--", "/usr/bin/fleetcommand", "migrate",
            "--config", CONF, cwd=STATE)
        self.assertEqual(mode_owner(f"{STATE}/fleetcommand.db")[1], "fleetcommand")
        # The service user cannot write its configuration.
        r = run("runuser", "-u", "fleetcommand", "--", "sh", "-c", f"echo x >> {CONF}",
                check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_build_lint_install_remove_purge(self):
        deb = self.build_package()
        lint = run("lintian", "--allow-root", deb, check=False)
        print(lint.stdout.strip())
        errors = [ln for ln in lint.stdout.splitlines() if ln.startswith("E:")]
        self.assertEqual(errors, [], lint.stdout)

        run("dpkg", "-i", deb)
        self.check_installed_files()
        self.run_as_service_user()

        run("dpkg", "-r", "fleetcommand")
        self.assertFalse(os.path.exists("/usr/bin/fleetcommand"))
        self.assertTrue(os.path.exists(f"{STATE}/fleetcommand.db"), "remove must keep the state")
        self.assertTrue(os.path.exists(CONF), "remove must keep the conffile")

        run("dpkg", "--purge", "fleetcommand")
        for path in (STATE, "/etc/fleetcommand", "/lib/systemd/system/fleetcommand.service",
                     "/etc/systemd/system/multi-user.target.wants/fleetcommand.service"):
            self.assertFalse(os.path.exists(path), f"{path} left after purge")
        # /var/lib/containers: the root file systems of buildah containers that
        # container_itest (here or in another build tree) has mounted, not the package's.
        left = run("find", "/etc", "/var/lib", "/lib/systemd", "/usr/lib/systemd",
                   "/usr/share/doc", "-path", "/var/lib/containers", "-prune", "-o",
                   "-name", "*fleetcommand*", "-print", check=False).stdout.split()
        self.assertEqual(left, [], "left after purge")
        with self.assertRaises(KeyError):
            pwd.getpwnam("fleetcommand")
        self.assertFalse(installed())


if __name__ == "__main__":
    fctest.main()
