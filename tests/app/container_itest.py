"""Container images built by Debian's buildah from deploy/container/ and
checked without a container runtime (podman cannot start containers in this
sandbox; a user's `podman run` / `docker run` runs the same image):

- No registry is reachable here, so the base image the Containerfiles name
  (docker.io/library/debian:bookworm-slim) is made once from a minimal Debian
  by `debootstrap --variant=minbase` and committed locally under that name;
  later runs reuse it.
- Both images are built with `--build-arg SOURCE=package` from the package
  CPack makes of this build tree (users build from source with the default).
- `buildah inspect`: a numeric non-root user, the entrypoint, the OCI labels.
- The image's root file system (`buildah mount`) holds no shell (daemon), no
  package manager and no compiler, and the programs run in it by `chroot` as
  the image's user: `--version`, `check-config`, `migrate`, `agent --help`,
  and for the agent image `kubectl version --client` and `/bin/sh -c`."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import fctest

BUILD = os.environ.get("FC_BUILD_DIR", "")
SRC = os.environ.get("FC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BASE = "docker.io/library/debian:bookworm-slim"
USER = "10001:10001"


def run(*args, check=True, timeout=900, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout[-3000:]}\n"
                             f"{r.stderr[-3000:]}")
    return r


def dangling_images():
    out = run("buildah", "images", "-q", "--filter", "dangling=true", check=False).stdout
    return set(out.split())


def ensure_base_image():
    if run("buildah", "images", "-q", BASE, check=False).stdout.strip():
        return
    root = tempfile.mkdtemp(prefix="fc-base-", dir="/var/tmp")
    try:
        run("debootstrap", "--variant=minbase", "bookworm", root, "http://deb.debian.org/debian",
            timeout=1200)
        ctr = run("buildah", "from", "scratch").stdout.strip()
        mnt = run("buildah", "mount", ctr).stdout.strip()
        run("sh", "-c", f"tar -C '{root}' -c . | tar -C '{mnt}' -x")
        run("buildah", "umount", ctr)
        run("buildah", "commit", "-q", ctr, BASE)
        run("buildah", "rm", ctr)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class FromSourceStageTest(unittest.TestCase):
    """The Containerfiles' default `SOURCE=source` stage compiles the daemon in
    the image, so its apt-get line must name every library the build links
    (the lib*-dev packages of scripts/install-deps.sh's BUILD_PKGS but the
    sanitizers' libclang-rt). The image test below builds from the package, so
    without this check a new library breaks only a user's `buildah bud`."""

    def test_from_source_installs_every_build_library(self):
        with open(os.path.join(SRC, "scripts", "install-deps.sh")) as f:
            text = f.read()
        start = text.index("BUILD_PKGS=(")
        build = text[start:text.index(")", start)].split()[1:]
        needed = {p for p in build
                  if p.startswith("lib") and p.endswith("-dev") and not p.startswith("libclang-rt")}
        self.assertIn("libsqlite3-dev", needed)  # the parse found the list
        for name in ("Containerfile.daemon", "Containerfile.agent"):
            with open(os.path.join(SRC, "deploy", "container", name)) as f:
                cf = f.read()
            stage = cf[cf.index("AS from-source"):cf.index("COPY . /src")]
            have = set(stage.replace("\\", " ").split())
            self.assertEqual(sorted(needed - have), [],
                             f"{name}'s from-source stage lacks these build libraries")


class ContainerImagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("buildah", "debootstrap", "cpack", "chroot"):
            if not shutil.which(tool):
                raise AssertionError(f"{tool} is missing (scripts/install-deps.sh installs it)")
        if os.geteuid() != 0:
            raise AssertionError("buildah mount and chroot need root (as .ci/run has)")
        ensure_base_image()
        cls.ctx = tempfile.mkdtemp(prefix="fc-ctx-")
        os.makedirs(os.path.join(cls.ctx, "build"))
        run("cpack", "-G", "DEB", "-B", os.path.join(cls.ctx, "build"), cwd=BUILD)
        for p in glob.glob(os.path.join(cls.ctx, "build", "_CPack_Packages")):
            shutil.rmtree(p)
        shutil.copytree(os.path.join(SRC, "deploy", "container"),
                        os.path.join(cls.ctx, "deploy", "container"))
        cls.images = {}
        cls.dangling_before = dangling_images()
        for kind in ("daemon", "agent"):
            tag = f"localhost/fleetcommand-{kind}:itest-{os.getpid()}"
            # --layers --force-rm: no working containers left behind; the
            # intermediate images this build made are removed in tearDownClass.
            run("buildah", "bud", "--isolation", "chroot", "--layers", "--force-rm",
                "--build-arg", "SOURCE=package",
                "-f", f"deploy/container/Containerfile.{kind}", "-t", tag, ".", cwd=cls.ctx,
                timeout=1200)
            cls.images[kind] = tag
        cls.mounts = {}
        for kind, tag in cls.images.items():
            ctr = run("buildah", "from", tag).stdout.strip()
            mnt = run("buildah", "mount", ctr).stdout.strip()
            # A container runtime gives every container /proc; so does this
            # chroot (the sanitized test build reads /proc/self/maps).
            os.makedirs(os.path.join(mnt, "proc"), exist_ok=True)
            run("mount", "-t", "proc", "proc", os.path.join(mnt, "proc"))
            cls.mounts[kind] = (ctr, mnt)

    @classmethod
    def tearDownClass(cls):
        for ctr, mnt in getattr(cls, "mounts", {}).values():
            run("umount", os.path.join(mnt, "proc"), check=False)
            run("buildah", "umount", ctr, check=False)
            run("buildah", "rm", ctr, check=False)
        for tag in getattr(cls, "images", {}).values():
            run("buildah", "rmi", tag, check=False)
        if hasattr(cls, "dangling_before"):
            for image in dangling_images() - cls.dangling_before:
                run("buildah", "rmi", image, check=False)
        shutil.rmtree(getattr(cls, "ctx", "/nonexistent"), ignore_errors=True)

    def inspect(self, kind):
        return json.loads(run("buildah", "inspect", "--type", "image", self.images[kind]).stdout)

    def in_image(self, kind, *args, check=True):
        return run("chroot", f"--userspec={USER}", self.mounts[kind][1], *args, check=check,
                   timeout=60)

    def check_config_and_labels(self, kind, entrypoint):
        cfg = self.inspect(kind)["OCIv1"]["config"]
        self.assertEqual(cfg["User"], USER)
        self.assertEqual(cfg["Entrypoint"], entrypoint)
        labels = cfg["Labels"]
        self.assertIn("github.com", labels["org.opencontainers.image.source"])
        self.assertRegex(labels["org.opencontainers.image.version"], r"^\d+\.\d+\.\d+")
        self.assertEqual(labels["org.opencontainers.image.licenses"], "Apache-2.0")
        root = self.mounts[kind][1]
        size = run("du", "-smx", root).stdout.split()[0]
        print(f"image {kind}: {size} MiB")
        for tool in ("usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg", "usr/bin/gcc",
                     "usr/bin/cc", "usr/bin/c++", "usr/bin/perl"):
            self.assertFalse(os.path.exists(os.path.join(root, tool)), f"{tool} in the image")

    def test_daemon_image(self):
        self.check_config_and_labels("daemon", ["/usr/bin/fleetcommand"])
        root = self.mounts["daemon"][1]
        self.assertFalse(os.path.exists(os.path.join(root, "bin/sh")), "a shell in the image")
        self.assertIn("fleetcommand ", self.in_image("daemon", "/usr/bin/fleetcommand",
                                                     "--version").stdout)
        conf = "/etc/fleetcommand/fleetcommand.json"
        out = self.in_image("daemon", "/usr/bin/fleetcommand", "check-config", "--config", conf)
        self.assertIn("/var/lib/fleetcommand/fleetcommand.db", out.stdout)
        self.in_image("daemon", "/usr/bin/fleetcommand", "migrate", "--config", conf)
        st = os.stat(os.path.join(root, "var/lib/fleetcommand/fleetcommand.db"))
        self.assertEqual((st.st_uid, st.st_gid), (10001, 10001))

    def test_agent_image(self):
        self.check_config_and_labels("agent", ["/usr/bin/fleetcommand", "agent"])
        out = self.in_image("agent", "/usr/bin/fleetcommand", "agent", "--help", check=False)
        self.assertIn("--apply-command", out.stdout + out.stderr)
        out = self.in_image("agent", "/usr/bin/kubectl", "version", "--client")
        self.assertIn("Client Version", out.stdout)
        self.assertEqual(self.in_image("agent", "/bin/sh", "-c", "echo ok").stdout.strip(), "ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:  # scripts/test.sh, during the build
        ensure_base_image()
    else:
        fctest.main()
