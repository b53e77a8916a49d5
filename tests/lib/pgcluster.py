#!/usr/bin/env python3
"""A throwaway PostgreSQL 15 cluster for tests (issue #15 §2).

Debian's binaries (/usr/lib/postgresql/15/bin: initdb, pg_ctl, createdb) in a
temporary directory, run as an unprivileged user (initdb refuses root: when
the tests run as root the cluster runs as `postgres`, the user Debian's
postgresql-common creates, else as the calling user). It listens on a free
127.0.0.1 port and on a unix socket inside its own directory, never the
system service's /var/run/postgresql; fsync and the other durability settings
are PostgreSQL's defaults. stop() stops it and removes the directory.

The cluster's default collation is byte order (`--locale=C`) unless
FC_PG_LOCALE names another, as a platform team's server has (docs/storage.md
"Collation"):
    FC_PG_LOCALE=icu            ICU's en-US (initdb --locale-provider=icu)
    FC_PG_LOCALE=icu:<locale>   another ICU locale, e.g. icu:de-DE
    FC_PG_LOCALE=en_US.UTF-8    a glibc locale (any name glibc knows): when
                                `locale -a` lacks it, it is compiled into the
                                cluster's directory with localedef and the
                                server finds it through LOCPATH (no change to
                                the machine's locales)

As a library:
    with PgCluster() as pg:
        url = pg.create_database("t1")   # postgresql://fc@127.0.0.1:PORT/t1

As a wrapper (ctest runs unit tests on PostgreSQL this way):
    pgcluster.py run -- CMD ARGS...
starts a cluster, runs CMD with FC_TEST_PG_URL (the `fleetcommand` database;
unit tests create more next to it) and FC_TEST_PG_ADMIN_URL (the `postgres`
database) set, stops the cluster and exits with CMD's status. Without the
binaries it prints why and exits 77 (ctest's SKIP_RETURN_CODE).

Standard library only. Every wait is bounded."""
import atexit
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fctest  # noqa: E402

PG_BIN = os.environ.get("FC_PG_BIN", "/usr/lib/postgresql/15/bin")
LOCALE = os.environ.get("FC_PG_LOCALE", "")
SUPERUSER = "fc"  # the cluster's superuser role (initdb -U); trust auth on loopback only
SKIP = 77


def available():
    """None when the binaries are there, else the reason they are not."""
    for tool in ("initdb", "pg_ctl", "createdb"):
        if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
            return f"PostgreSQL 15 binaries not found ({PG_BIN}/{tool}); scripts/install-deps.sh installs them"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the cluster as"
    if LOCALE and not LOCALE.startswith("icu") and not _glibc_has(LOCALE):
        if not shutil.which("localedef") or not os.path.isdir("/usr/share/i18n/locales"):
            return f"FC_PG_LOCALE={LOCALE}: not installed (`locale -a`) and no localedef to compile it"
    return None


def _glibc_has(name):
    """Whether `locale -a` lists `name` (glibc spells the codeset utf8 or UTF-8)."""
    norm = name.lower().replace("-", "")
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(line.strip().lower().replace("-", "") == norm for line in out.splitlines())


def locale_args(locale):
    """initdb's locale options for FC_PG_LOCALE (empty: byte order)."""
    if not locale:
        return ["--locale=C"]
    if locale == "icu" or locale.startswith("icu:"):
        icu = locale[4:] or "en-US"
        # PostgreSQL 15 still wants a libc LC_COLLATE/LC_CTYPE next to the
        # ICU default; C.UTF-8 is in every glibc.
        return ["--locale=C.UTF-8", "--locale-provider=icu", f"--icu-locale={icu}"]
    return [f"--locale={locale}"]


class PgCluster:
    def __init__(self, locale=None):
        self.dir = None
        self.port = None
        self.started = False
        self.locale = LOCALE if locale is None else locale
        self.locpath = None  # a glibc locale compiled for this cluster

    def _as_owner(self, args):
        """The command, run as the cluster's owner (never root)."""
        if self.locpath:
            args = ["env", f"LOCPATH={self.locpath}"] + args
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--"] + args
        return args

    def _compile_locale(self):
        """A glibc locale the machine lacks, compiled into the cluster's
        directory (localedef -i en_US -f UTF-8: ~1 s) for LOCPATH."""
        name = self.locale
        base, _, codeset = name.partition(".")
        locpath = os.path.join(self.dir, "locales")
        self._run(["mkdir", "-p", locpath])
        # localedef exits 1 on warnings while still writing the locale.
        subprocess.run(self._as_owner(["localedef", "-i", base.split("@")[0], "-f", codeset or "UTF-8",
                                       os.path.join(locpath, name)]),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, cwd=self.dir)
        if not os.path.isdir(os.path.join(locpath, name)):
            raise RuntimeError(f"localedef could not compile {name}")
        self.locpath = locpath

    def _run(self, args, timeout=120):
        r = subprocess.run(self._as_owner(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout.decode(errors='replace')}")
        return r.stdout.decode(errors="replace")

    def start(self):
        why = available()
        if why:
            raise RuntimeError(why)
        self.dir = tempfile.mkdtemp(prefix="fc-pg-")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        data = os.path.join(self.dir, "data")
        if self.locale and not self.locale.startswith("icu") and not _glibc_has(self.locale):
            self._compile_locale()
        self._run([os.path.join(PG_BIN, "initdb"), "-D", data, "-U", SUPERUSER, "-A", "trust",
                   "-E", "UTF8"] + locale_args(self.locale))
        for attempt in range(1, fctest.PORT_ATTEMPTS + 1):
            self.port = fctest.free_port()
            log_from = len(self.log())
            try:
                self.start_server()
                break
            except RuntimeError:
                # "could not bind IPv4 address "127.0.0.1": Address already in use"
                hit = fctest.port_in_use(self.log()[log_from:])
                if not hit or attempt == fctest.PORT_ATTEMPTS:
                    raise
                fctest.port_retry_note("PostgreSQL", self.port, hit[1], attempt)
        self.create_database("fleetcommand")
        return self

    def start_server(self):
        """Starts the server of this cluster (again: same directory, same port)."""
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        # More server settings, e.g. bench/ha's STATEMENTS=1 (pg_stat_statements).
        opts += " " + os.environ.get("FC_TEST_PG_OPTS", "")
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(self.dir, "data"), "-l",
                   os.path.join(self.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"])
        self.started = True
        if not getattr(self, "_atexit", False):
            # pg_ctl detaches the server from this process: a test that ends
            # without stop() (a failing setUpClass) must not leave it running.
            atexit.register(self._stop_at_exit)
            self._atexit = True

    def _stop_at_exit(self):
        if self.started:
            print(f"pgcluster: the server on port {self.port} still running at exit: stopped", file=sys.stderr,
                  flush=True)
            try:
                self.stop_server("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            shutil.rmtree(self.dir, ignore_errors=True)

    def stop_server(self, mode="fast"):
        """Stops the server, keeping its data (start_server brings it back)."""
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(self.dir, "data"),
                   "-m", mode, "-w", "-t", "60", "stop"])
        self.started = False

    def url(self, dbname="fleetcommand"):
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name):
        self._run([os.path.join(PG_BIN, "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", SUPERUSER, name], timeout=60)
        return self.url(name)

    def query(self, dbname, sql):
        """Rows of `sql` in database `dbname` (psql -At: a list of tuples of strings)."""
        r = subprocess.run([os.path.join(PG_BIN, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                            SUPERUSER, "-d", dbname, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed ({r.returncode}): {r.stderr}")
        return [tuple(line.split("\t")) for line in r.stdout.splitlines() if line]

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.started:
            try:
                self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(self.dir, "data"),
                           "-m", "fast", "-w", "-t", "60", "stop"])
            finally:
                self.started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if len(argv) < 3 or argv[0] != "run" or argv[1] != "--":
        print("usage: pgcluster.py run -- CMD ARGS...", file=sys.stderr)
        return 2
    why = available()
    if why:
        print(f"skipped: {why}")
        return SKIP
    t0 = time.monotonic()
    with PgCluster() as pg:
        print(f"pgcluster: started port={pg.port} dir={pg.dir} locale={pg.locale or 'C'}"
              f" in {time.monotonic() - t0:.1f}s", flush=True)
        env = dict(os.environ, FC_TEST_PG_URL=pg.url(), FC_TEST_PG_ADMIN_URL=pg.url("postgres"),
                   FC_TEST_PG_DIR=pg.dir)
        rc = subprocess.run(argv[2:], env=env).returncode
        if rc != 0:
            print("pgcluster: server log tail:\n" + pg.log()[-4000:])
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
