"""The web console (docs/console.md) against the real daemon, in Debian's
headless Chromium driven by Debian's python3-selenium, with axe-core (npm,
pinned by tests/console/package-lock.json) injected on every page: zero
serious or critical violations.

World: the custom-domain fixtures of tests/domains (BIND for the customer's
zone, unbound, Pebble issuing by HTTP-01, the reference agent of region r1)
and r1's edge: nginx on loopback built from the agent's GitOps output
(tests/lib/edge.py), probed by the daemon's live checks.
Scenarios: a customer signs in with a tenant token, adds a domain, reads the
records to create from the page, creates them in BIND and watches every
step of the checklist turn green up to Live without reloading (Pebble issues,
the agent writes the Secret, the live check first fails against an nginx
edge serving the operator's wildcard, then passes once the edge serves the
agent's certificate); an operator cordons
(cancelled) and drains a region through the confirmation dialog, and searches
workspaces; markup in a region name, a label and an agent's message renders
literally; a tenant editing the URL to another tenant's objects sees nothing;
domains by status with the failing step and a confirmed re-check; agents per
region and recent events against the API; a plan's usage on the customer's
page; the releases page pausing, resuming and aborting a rollout.
Plain HTTP: the /ui headers (CSP, nosniff, ETag) and every embedded file
byte-identical to console/; the vendored uPlot byte-identical to the file of
the npm package console/package-lock.json pins (skipped when npm cannot reach
its registry). Screenshots go to $FC_BUILD_DIR/console-screenshots/.

`--prepare` only installs axe-core (scripts/lib/prepare-peers.sh)."""
import calendar
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("FC_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
BUILD = os.environ.get("FC_BUILD_DIR", "")
DEBIAN_PYTHON = "/usr/bin/python3"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from selenium.common.exceptions import StaleElementReferenceException
except ImportError:
    webdriver = None
    # Debian's python3-selenium lives in Debian's interpreter; a python3
    # earlier on PATH (pyenv, a venv) does not see it: run under Debian's.
    if (os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON) and os.path.exists(DEBIAN_PYTHON)
            and "--prepare" not in sys.argv and not os.environ.get("FC_CONSOLE_REEXEC")):
        os.environ["FC_CONSOLE_REEXEC"] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)

sys.path.insert(0, os.path.join(SRC, "tests", "domains"))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
import fctest  # noqa: E402
import edge  # noqa: E402
from e2e_itest import ZONE, CustomerWorld  # noqa: E402

SHOTS = os.path.join(BUILD or "/tmp", "console-screenshots")
CHROMEDRIVER = "/usr/bin/chromedriver"
XSS_REGION = '<img src=x id="xss-region" onerror="window.__pwned=1">EU'
XSS_LABEL = "</script><script>window.__pwned=2</script>"
XSS_MESSAGE = '<b id="xss-message">bold</b><svg onload="window.__pwned=3">'
XSS_FRAGMENT = '<img src=x id="xss-fragment" onerror="window.__pwned=4">'
XSS_HOSTNAME = '<img src=x id="xss-hostname" onerror="window.__pwned=5">.customer.test'
XSS_TXT = "<img src=x id='xss-txt' onerror='window.__pwned=6'>"  # no double quote: a TXT string
XSS_IDS = "#xss-region, #xss-message, #xss-fragment, #xss-hostname, #xss-txt, main img, main svg b"


# -- npm installs (once per lock file, into the build tree) -----------------

def npm_install(src_dir, dest, check):
    """`npm ci` of src_dir's package(-lock).json into dest; True when `check`
    exists afterwards (already, or after the install)."""
    os.makedirs(dest, exist_ok=True)
    lock = os.path.join(src_dir, "package-lock.json")
    have = os.path.join(dest, "package-lock.json")
    same = False
    if os.path.exists(have):
        with open(lock, "rb") as a, open(have, "rb") as b:
            same = a.read() == b.read()
    if same and os.path.exists(os.path.join(dest, check)):
        return True
    if shutil.which("npm") is None:
        return False
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(src_dir, f), dest)
    r = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=dest,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        os.remove(have)  # retried next time
        print("npm ci in", dest, "failed:", r.stderr[-2000:], file=sys.stderr)
        return False
    return os.path.exists(os.path.join(dest, check))


AXE_DIR = os.path.join(BUILD or "/tmp", "console-axe")
AXE_JS = os.path.join("node_modules", "axe-core", "axe.min.js")


def install_axe():
    return npm_install(HERE, AXE_DIR, AXE_JS)


# -- the browser -------------------------------------------------------------

def start_browser():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


class Browser:
    """The console in one Chromium tab, with helpers that wait (bounded)."""

    def __init__(self, d):
        self.d = d
        self.base = f"http://127.0.0.1:{d.api_port}/ui"
        self.drv = start_browser()
        self.drv.set_script_timeout(30)
        with open(os.path.join(AXE_DIR, AXE_JS), encoding="utf-8") as f:
            self.axe_src = f.read()

    def quit(self):
        self.drv.quit()

    def wait(self, cond, timeout=15, what="condition"):
        # The views re-render while they refresh: an element found a moment
        # ago may be gone when its text is read; the next poll looks again.
        return WebDriverWait(self.drv, timeout, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,)).until(cond, what)

    def find(self, css, timeout=15):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, css)

    def sign_in(self, token):
        self.drv.get(self.base)
        self.drv.execute_script("window.sessionStorage.clear()")
        self.drv.get(self.base)
        box = self.find("#token")
        box.clear()
        box.send_keys(token)
        box.send_keys(Keys.ENTER)
        self.find("#signout")

    def go(self, fragment, heading=None):
        # Empty the view first: a heading seen afterwards is the new page's.
        self.drv.execute_script("const v = document.getElementById('view'); if (v) v.replaceChildren();")
        self.drv.get(self.base + fragment)
        if heading:
            self.wait(lambda d: heading in [h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")], 15,
                      f"h1 {heading!r}")

    def text(self):
        return self.drv.find_element(By.TAG_NAME, "body").text

    def axe(self, name):
        """axe-core on the page: no serious or critical violation; a screenshot
        at desktop and phone width."""
        self.drv.execute_script(self.axe_src)
        res = self.drv.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
        bad = [(v["id"], v["impact"], v["help"], [n.get("target") for n in v["nodes"]][:3])
               for v in res if v.get("impact") in ("serious", "critical")]
        os.makedirs(SHOTS, exist_ok=True)
        self.drv.save_screenshot(os.path.join(SHOTS, name + ".png"))
        self.drv.set_window_size(390, 844)
        try:
            self.drv.save_screenshot(os.path.join(SHOTS, name + "-phone.png"))
            # Usable at phone width: nothing wider than the viewport but tables
            # (which scroll in their own box).
            wide = self.drv.execute_script(
                "return document.documentElement.scrollWidth > window.innerWidth + 1")
        finally:
            self.drv.set_window_size(1280, 900)
        return bad, wide

    def errors(self):
        """SEVERE browser log lines (CSP or Trusted Types violations, script errors)."""
        return [e["message"] for e in self.drv.get_log("browser") if e["level"] == "SEVERE"]


class ConsoleBrowser(CustomerWorld):
    DOMAINS = {"recheck_interval_s": 2, "verify_base_s": 1}
    EXTRA_CONFIG = {"plans": {"basic": {"resources": {"memory_mib": 64, "cpu_millis": 50}}}}

    @classmethod
    def setUpClass(cls):
        if webdriver is None:
            raise unittest.SkipTest("python3-selenium is not installed (scripts/install-deps.sh)")
        fctest.require_tools("chromium", "chromedriver")
        if not edge.nginx_binary():
            raise unittest.SkipTest("nginx is not installed (scripts/install-deps.sh)")
        cls.nginx = cls.backend = None
        if not install_axe():
            raise AssertionError("npm ci of axe-core failed (no network to the npm registry?)")
        super().setUpClass()
        cls.b = None
        try:
            cls.b = Browser(cls.d)
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def before_start(cls):
        # The edge of region r1 (tests/lib/edge.py, as in tests/probes/live_itest.py):
        # nginx on loopback, rebuilt from the reference agent's GitOps output
        # the way an ingress controller reads it, proxying to a tiny backend.
        # Workspace hostnames get the operator's wildcard; a custom domain the
        # Secret the agent wrote (Pebble's chain). The live checks trust both
        # roots (probes.ca_bundle) and probe the edge every second.
        certs_dir = os.path.join(cls.d.dir, "edge-certs")
        os.makedirs(certs_dir)
        operator_ca = edge.self_signed(certs_dir, "operator-ca", "operator test CA", ["ca.invalid"])
        wildcard = edge.ca_signed(certs_dir, "wildcard", operator_ca, ["*." + ZONE])
        bundle = os.path.join(certs_dir, "trust.pem")
        with open(operator_ca[0]) as f, open(bundle, "w") as out:
            out.write(f.read() + cls.peb.roots_and_intermediates()[0])
        cls.backend = edge.Backend().start()
        cls.nginx = edge.Nginx(cls.d.dir, cls.backend.port, wildcard)
        cls.d.config["probes"] = {"enabled": True, "interval_s": 1, "rate_per_s": 50, "timeout_ms": 2000,
                                  "https_port": cls.nginx.port, "path": "/", "ca_bundle": bundle}

    @classmethod
    def stop_all(cls):
        for p in (getattr(cls, "nginx", None), getattr(cls, "backend", None)):
            if p:
                p.stop()
        return super().stop_all()

    def sync_edge(self, host):
        """The ingress controller's part: once the agent has written the
        Secret for `host`, nginx serves it (bounded wait)."""
        fctest.wait_until(lambda: edge.gitops_sites(self.agent.out).get(host), timeout=30, interval=0.2,
                          what="the agent's Secret for " + host)
        sites = edge.gitops_sites(self.agent.out)
        self.nginx.write(sites)
        self.nginx.reload(host, edge.pem_fingerprint(sites[host][0]))

    @classmethod
    def after_start(cls):
        d = cls.d
        cls.ws = cls.create_ws("shop")
        cls.ws2 = cls.create_ws("rival")
        # Region r2 (no agent): the drain target, and where markup is planted.
        d.create_region("r2", name=XSS_REGION, labels={"note": XSS_LABEL},
                        capacity={"memory_mib": 1024, "cpu_millis": 1000, "workspaces": 10})
        agent2 = d.agent_token("r2")
        d.heartbeat(agent2, agent_id="console-r2")
        r = d.request("POST", "/v1/workspaces", {"name": "marked", "resources": {"memory_mib": 64, "cpu_millis": 50},
                                                "placement": {"regions": ["r2"]}})
        assert r.status == 201, r
        cls.marked = r.json()
        r = d.request("POST", "/v1/agent/status", {"workspaces": [
            {"workspace_id": cls.marked["id"], "generation": 1, "phase": "failed", "message": XSS_MESSAGE}]},
            token=agent2)
        assert r.status == 200, r
        fctest.wait_until(lambda: cls.ws_json(cls.ws["id"])["dns"]["published"], timeout=30,
                          what="workspace running and published")
        fctest.wait_until(lambda: f"shop.{ZONE}" in edge.gitops_sites(cls.agent.out), timeout=30, interval=0.2,
                          what="the agent's Ingress for shop")
        cls.nginx.write(edge.gitops_sites(cls.agent.out))
        cls.nginx.start()

    @classmethod
    def create_ws(cls, name):
        r = cls.d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 64, "cpu_millis": 50},
                                                    "placement": {"regions": ["r1"]}})
        assert r.status == 201, r
        return r.json()

    @classmethod
    def ws_json(cls, ws_id):
        return cls.d.request("GET", f"/v1/workspaces/{ws_id}").json()

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "b", None):
                cls.b.quit()
        finally:  # the daemon and its peers whatever the browser did
            super().tearDownClass()

    def tenant(self, ws_id):
        r = self.d.request("POST", f"/v1/workspaces/{ws_id}/tenant-tokens")
        self.assertEqual(r.status, 201, r)
        return r.json()["token"]

    def check_page(self, name):
        bad, wide = self.b.axe(name)
        self.assertEqual(bad, [], f"axe: serious/critical violations on {name}")
        self.assertFalse(wide, f"{name}: the page is wider than a phone screen")

    def assert_no_browser_errors(self):
        # A 404 from the API is logged as "Failed to load resource": expected
        # (feature detection, another tenant's URL); anything else is not.
        errs = [e for e in self.b.errors() if "Failed to load resource" not in e]
        self.assertEqual(errs, [], "browser console errors (CSP, Trusted Types, scripts)")

    def test_1_customer_adds_domain_and_watches_checklist(self):
        b = self.b
        b.sign_in(self.tenant(self.ws["id"]))
        b.wait(lambda d: "shop" in [h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")], 15, "workspace page")
        self.assertIn(f"https://shop.{ZONE}/", b.text())
        self.check_page("customer-workspace")
        # Add a domain through the form: the page moves to the domain.
        host = "www.customer.test"
        field = b.find("#new-domain")
        field.send_keys(host)
        field.send_keys(Keys.ENTER)
        b.wait(lambda d: host in [h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")], 15, "domain page")
        # The records to create, read from the page as a customer would.
        rows = [[c.text for c in tr.find_elements(By.CSS_SELECTOR, "td code")]
                for tr in b.drv.find_elements(By.CSS_SELECTOR, "table tbody tr")]
        records = {r[0]: (r[1], r[2]) for r in rows if len(r) == 3}
        api = self.d.request("GET", f"/v1/domains/{host}").json()
        self.assertEqual(records["TXT"], (f"_fleetcommand.{host}", api["verification"]["value"]))
        self.assertEqual(records["CNAME"], (host, f"shop.{ZONE}"))
        self.assertEqual(len(b.drv.find_elements(By.CSS_SELECTOR, "button.copy")), 4)
        # A copy button puts the exact value on the clipboard (read back through the page).
        b.drv.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": f"http://127.0.0.1:{self.d.api_port}",
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        b.find('button.copy[aria-label="Copy TXT record value"]').click()
        self.announced("Copied TXT record value.")
        self.assertEqual(b.drv.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, e => done('error: ' + e))"), records["TXT"][1])
        self.find_condition("OwnershipVerified", ("False", "Unknown"))
        self.check_page("customer-domain-pending")
        # The customer creates them; "Check now"; the checklist moves without a reload.
        marker = b.drv.execute_script("window.__noReload = 1; return 1")
        self.bind.update(f'add {records["TXT"][0]} 1 TXT "{records["TXT"][1]}"',
                         f"add {records['CNAME'][0]} 1 CNAME {records['CNAME'][1]}.")
        b.drv.find_element(By.XPATH, "//button[normalize-space()='Check now']").click()
        self.find_condition("OwnershipVerified", ("True",), timeout=40)
        self.find_condition("RoutingOK", ("True",), timeout=40)
        self.find_condition("PreflightOK", ("True",), timeout=40)
        self.find_condition("CertificateIssued", ("True",), timeout=60)
        self.assertEqual(self.d.request("GET", f"/v1/domains/{host}").json()["certificate"]["status"], "valid")
        self.check_page("customer-domain-issued")
        self.find_condition("CertificateDelivered", ("True",), timeout=30)
        # The edge does not serve the name yet (the operator's wildcard
        # answers): the live check fails and the page says why.
        self.find_condition("Live", ("False",), timeout=30)
        self.assertIn("the HTTPS probe fails at step certificate: TLS: served certificate is not ours "
                      "(issuer CN=operator test CA)", self.condition_text("Live"))
        self.check_page("customer-domain-not-live")
        # The ingress controller picks up the agent's Secret: Live turns green.
        self.sync_edge(host)
        self.find_condition("Live", ("True",), timeout=30)
        self.assertIn("the HTTPS probe succeeded", self.condition_text("Live"))
        js = ("return Array.from(document.querySelectorAll('ol.checklist li'))"
              ".map(e => [e.dataset.type, e.dataset.status])")
        self.assertEqual(b.drv.execute_script(js), [[t, "True"] for t in (
            "OwnershipVerified", "RoutingOK", "PreflightOK", "CertificateIssued", "CertificateDelivered", "Live")])
        self.assertEqual(b.drv.execute_script("return window.__noReload"), marker, "the page was reloaded")
        live = self.d.request("GET", f"/v1/domains/{host}").json()["live"]
        self.assertEqual((live["status"], live["step"]), ("live", "http"), live)
        self.check_page("customer-domain-live")
        self.assert_no_browser_errors()

    def condition_text(self, ctype):
        return self.b.drv.execute_script(
            "const e = document.querySelector('li[data-type=\"' + arguments[0] + '\"]'); return e ? e.innerText : ''",
            ctype)

    def find_condition(self, ctype, statuses, timeout=15):
        # Read in one script: the checklist is re-rendered every few seconds,
        # so an element found in one call may be gone in the next.
        js = ("return Array.from(document.querySelectorAll('li[data-type=\"' + arguments[0] + '\"]'))"
              ".map(e => e.dataset.status)")
        return self.b.wait(lambda d: any(st in statuses for st in d.execute_script(js, ctype)),
                           timeout, f"{ctype} {statuses}")

    def test_4_operator_regions_cordon_cancel_then_drain(self):
        b = self.b
        b.sign_in(self.d.token)
        b.go("#/regions", "Regions")
        card = b.find('article[data-region="r2"]')
        self.assertEqual(len(card.find_elements(By.CSS_SELECTOR, "meter")), 3)
        self.assertTrue(b.drv.find_elements(By.CSS_SELECTOR, "figure.chart canvas"), "no capacity chart")
        self.check_page("operator-regions")
        # Cordon, then Cancel in the dialog: nothing changes.
        card.find_element(By.CSS_SELECTOR, 'button[aria-label="Cordon region r2"]').click()
        b.find("dialog#confirm[open]")
        b.drv.find_element(By.ID, "confirm-cancel").click()
        b.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"), 5, "dialog closed")
        self.assertEqual(self.d.request("GET", "/v1/regions/r2").json()["state"], "active")
        # Drain, confirmed: the card and the API say draining.
        b.find('article[data-region="r2"] button[aria-label="Drain region r2"]').click()
        dlg = b.find("dialog#confirm[open]")
        self.assertIn("r2", dlg.text)
        b.drv.find_element(By.ID, "confirm-ok").click()
        b.wait(lambda d: "draining" in d.find_element(By.CSS_SELECTOR, 'article[data-region="r2"]').text, 15,
               "r2 draining on the page")
        self.assertEqual(self.d.request("GET", "/v1/regions/r2").json()["state"], "draining")
        self.check_page("operator-regions-draining")
        self.assert_no_browser_errors()

    def test_3_operator_searches_workspaces(self):
        b = self.b
        b.sign_in(self.d.token)
        b.go("#/workspaces", "Workspaces")
        box = b.find("#ws-search")
        box.send_keys("SH")
        box.send_keys(Keys.ENTER)
        b.wait(lambda d: [a.text for a in d.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")] == ["shop"],
               15, "search result shop only")
        self.check_page("operator-workspaces")
        b.go(f"#/workspace/{self.ws['id']}", "shop")
        self.find_condition("Placed", ("True",))
        self.check_page("operator-workspace")
        self.assert_no_browser_errors()

    def test_2_markup_from_the_api_renders_literally(self):
        b = self.b
        b.sign_in(self.d.token)
        b.go("#/regions", "Regions")
        b.find('article[data-region="r2"]')
        self.assertIn(XSS_REGION, b.text())
        self.assertIn("note=" + XSS_LABEL, b.text())
        b.go("#/workspaces?q=marked", "Workspaces")
        b.wait(lambda d: XSS_MESSAGE in d.find_element(By.TAG_NAME, "body").text, 15, "agent message shown")
        b.go(f"#/workspace/{self.marked['id']}", "marked")
        b.wait(lambda d: XSS_MESSAGE in d.find_element(By.TAG_NAME, "body").text, 15, "agent message shown")
        # Markup in the URL's fragment (a link someone was sent): not found, nothing run.
        b.go("#/domain/" + urllib.parse.quote(XSS_FRAGMENT), "Not found")
        # A hostname with markup typed into the add-domain form: the API's
        # 422 is shown as text.
        b.go(f"#/workspace/{self.ws2['id']}", "rival")
        field = b.find("#new-domain")
        field.send_keys(XSS_HOSTNAME)
        field.send_keys(Keys.ENTER)
        err = b.wait(lambda d: d.find_element(By.CSS_SELECTOR, "form.inline-form p.error").text, 15,
                     "the form's error")
        self.assertIn("hostname", err)
        mine = self.d.request("GET", f"/v1/workspaces/{self.ws2['id']}/domains").json()["items"]
        self.assertFalse([x for x in mine if "<" in x["hostname"]], mine)
        # Markup in a DNS record the customer published (the TXT value):
        # the domain's last_error quotes it, the page shows it literally.
        host = "xss.customer.test"
        r = self.d.request("POST", f"/v1/workspaces/{self.ws2['id']}/domains", {"hostname": host})
        self.assertEqual(r.status, 201, r)
        self.bind.update(f'add _fleetcommand.{host} 1 TXT "{XSS_TXT}"')
        self.d.request("POST", f"/v1/domains/{host}/check")
        fctest.wait_until(lambda: XSS_TXT in (self.d.request("GET", f"/v1/domains/{host}").json()["last_error"]
                                              or ""), timeout=30, interval=0.3, what="last_error quoting the TXT")
        b.go(f"#/domain/{host}", host)
        b.wait(lambda d: XSS_TXT in d.find_element(By.TAG_NAME, "body").text, 15, "the TXT value shown")
        self.assertEqual(b.drv.find_elements(By.CSS_SELECTOR, XSS_IDS), [])
        self.assertIsNone(b.drv.execute_script("return window.__pwned === undefined ? null : window.__pwned"))
        self.assert_no_browser_errors()

    def test_5_tenant_editing_urls_sees_nothing_of_another(self):
        b = self.b
        r = self.d.request("POST", f"/v1/workspaces/{self.ws2['id']}/domains", {"hostname": "secret.customer.test"})
        self.assertEqual(r.status, 201, r)
        b.sign_in(self.tenant(self.ws["id"]))
        for frag in (f"#/workspace/{self.ws2['id']}", "#/workspace/rival", "#/domain/secret.customer.test",
                     "#/regions", f"#/workspace/{urllib.parse.quote(self.ws2['id'])}/../x"):
            b.go(frag, "Not found")
            page = b.text()
            for secret in ("rival", "secret.customer.test", self.ws2["id"]):
                if secret not in frag:
                    self.assertNotIn(secret, page, frag)
        self.check_page("tenant-not-found")
        # The token never reaches a URL or a cookie.
        self.assertEqual(b.drv.get_cookies(), [])
        self.assertNotIn("fc_tnt_", b.drv.current_url)
        # It is kept in sessionStorage (gone with the tab), never in localStorage.
        self.assertEqual(b.drv.execute_script("return window.localStorage.length"), 0)
        stored = b.drv.execute_script(
            "return Object.keys(sessionStorage).map(k => sessionStorage.getItem(k)).join(' ')")
        self.assertIn("fc_tnt_", stored)
        self.assert_no_browser_errors()

    def announced(self, text, timeout=15):
        self.b.wait(lambda d: text in d.find_element(By.ID, "announce").text, timeout, f"announced {text!r}")

    def confirm(self, button_css, ok=True):
        self.b.find(button_css).click()
        self.b.find("dialog#confirm[open]")
        self.b.drv.find_element(By.ID, "confirm-ok" if ok else "confirm-cancel").click()
        self.b.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"), 5, "dialog closed")

    def test_6_operator_domains_by_status_with_failing_step(self):
        b = self.b
        host = "pending.customer.test"  # no records in BIND: it stays pending
        r = self.d.request("POST", f"/v1/workspaces/{self.ws2['id']}/domains", {"hostname": host})
        self.assertEqual(r.status, 201, r)
        b.sign_in(self.d.token)
        b.go("#/domains", "Domains")
        section = 'section[data-status="pending_verification"]'
        b.wait(lambda d: host in d.find_element(By.CSS_SELECTOR, section).text, 15, "pending domain listed")
        api = {d["hostname"]: d for d in self.d.request("GET", "/v1/domains").json()["items"]}
        self.assertEqual(api[host]["failing"]["type"], "OwnershipVerified")
        row = b.drv.find_element(By.XPATH, f"//tr[td/a[normalize-space()='{host}']]")
        self.assertIn("OwnershipVerified", row.text)
        self.assertIn(api[host]["failing"]["reason"], row.text)
        # The pending section holds the pending ones (the others may move on meanwhile).
        pending = [a.text for a in b.drv.find_elements(By.CSS_SELECTOR, section + " tbody td:first-child a")]
        self.assertIn("secret.customer.test", pending)
        for h in pending:
            self.assertEqual(api[h]["status"], "pending_verification", h)
        self.check_page("operator-domains")
        # Filter by status through the form: only that section.
        b.drv.execute_script("document.getElementById('domain-status').value = 'pending_verification'")
        b.find("#domain-search").send_keys("pend")
        b.find("#domain-search").send_keys(Keys.ENTER)
        b.wait(lambda d: "status=pending_verification" in d.current_url and "q=pend" in d.current_url, 15,
               "filtered URL")
        b.wait(lambda d: [a.text for a in d.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")] == [host],
               15, "only the pending domain")
        # Re-check asks first: Cancel does nothing, OK asks the API.
        self.confirm(f'button[aria-label="Re-check {host}"]', ok=False)
        self.confirm(f'button[aria-label="Re-check {host}"]', ok=True)
        self.announced(f"Re-check of {host} requested.")
        self.assert_no_browser_errors()

    def test_7_operator_sees_agents_and_recent_events(self):
        b = self.b
        b.sign_in(self.d.token)
        b.go("#/regions", "Regions")
        r1 = self.d.request("GET", "/v1/regions/r1").json()
        self.assertTrue(r1["agents"], r1)
        agent = r1["agents"][0]
        self.assertEqual(agent["state"], "up")
        b.wait(lambda d: agent["agent_id"] in d.find_element(By.CSS_SELECTOR, 'article[data-region="r1"]').text,
               15, "r1's agent listed")
        card = b.find('article[data-region="r1"]')
        rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in card.find_elements(By.CSS_SELECTOR, "tbody tr")]
        mine = next(r for r in rows if r and r[0] == agent["agent_id"])
        self.assertEqual(mine[1], agent["version"] or "—")
        self.assertEqual(mine[2], "up")
        self.assertIn("UTC", mine[3])
        self.assertIn("console-r2", b.find('article[data-region="r2"]').text)
        # Recent events: the newest first, as GET /v1/events?latest=true has them.
        b.find("#events-title")

        def newest_shown(d):
            latest = self.d.request("GET", "/v1/events?latest=true&limit=20").json()["items"]
            shown = [tr.find_elements(By.TAG_NAME, "td")[1].text
                     for tr in d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=events-title] tbody tr")]
            return shown and shown[0] == latest[-1]["type"] and len(shown) == len(latest)
        for attempt in range(5):  # the world keeps writing events: reload until both agree
            try:
                b.wait(newest_shown, 3, "newest event first")
                break
            except Exception:
                # Another URL each time: going to the page's own URL fires no
                # hashchange, so the emptied view would never render again.
                b.go(f"#/regions?reload={attempt}", "Regions")
                b.find("#events-title")
        else:
            self.fail("the events table never showed the newest events first")
        self.assertIn("workspace.created", self.d.request("GET", "/v1/events?type=workspace.*").body.decode())
        self.check_page("operator-regions-agents-events")
        self.assert_no_browser_errors()

    def test_8_customer_sees_plan_and_usage(self):
        b = self.b
        r = self.d.request("POST", "/v1/tenants", {"name": "acme"})
        self.assertEqual(r.status, 201, r)
        r = self.d.request("POST", "/v1/workspaces", {"name": "planned", "tenant": "acme", "plan": "basic",
                                                     "placement": {"regions": ["r1"]}})
        self.assertEqual(r.status, 201, r)
        ws = r.json()
        time.sleep(1.1)  # a whole second metered
        b.sign_in(self.tenant(ws["id"]))
        b.wait(lambda d: "planned" in [h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")], 15, "workspace page")
        b.find("#usage-title")
        item = lambda k: b.drv.find_element(By.CSS_SELECTOR, f'#usage [data-item="{k}"]').text  # noqa: E731
        self.assertEqual(item("Plan"), "basic")
        self.assertRegex(item("Running"), r"^\d+\.\d h$")
        self.assertRegex(item("Memory"), r"^\d+\.\d\d GiB·h$")
        self.assertIn("UTC", item("Period"))
        # The page shows what the API gives this token: its own rows only.
        u = self.d.request("GET", "/v1/usage", token=self.tenant(ws["id"])).json()
        self.assertEqual({x["workspace_id"] for x in u["items"]}, {ws["id"]})
        self.check_page("customer-plan-usage")
        self.assert_no_browser_errors()

    def test_9_operator_releases_page_pause_resume_abort(self):
        b, d = self.b, self.d
        for name, image in (("v1", "registry.test/chat:1"), ("v2", "registry.test/chat:2")):
            r = d.request("POST", "/v1/releases", {"name": name, "image": image})
            self.assertEqual(r.status, 201, r)
        self.assertEqual(d.request("PUT", "/v1/channels/stable", {"release": "v1"}).status, 200)
        for i in range(2):
            r = d.request("POST", "/v1/workspaces", {"name": f"rel-{i}", "channel": "stable",
                                                    "resources": {"memory_mib": 64, "cpu_millis": 50},
                                                    "placement": {"regions": ["r1"]}})
            self.assertEqual(r.status, 201, r)
        r = d.request("POST", "/v1/rollouts", {"channel": "stable", "to_release": "v2", "bake_s": 600,
                                               "waves": {"percentages": [50, 100]}})
        self.assertEqual(r.status, 201, r)
        ro = r.json()["id"]
        b.sign_in(d.token)
        b.go("#/releases", "Releases")
        card = f'article[data-rollout="{ro}"]'
        b.wait(lambda dr: "v1 → v2" in dr.find_element(By.CSS_SELECTOR, card).text, 15, "the rollout card")
        waves = b.drv.find_elements(By.CSS_SELECTOR, card + " table tbody tr")
        self.assertEqual(len(waves), 2)
        self.assertEqual([w.find_elements(By.TAG_NAME, "td")[2].text for w in waves], ["1", "1"])
        self.assertIn("channel stable", b.find(card).text)
        self.check_page("operator-releases")
        # Pause, confirmed.
        self.confirm(f'button[aria-label="Pause rollout {ro}"]')
        self.announced(f"Rollout {ro} is now paused.")
        self.assertEqual(d.request("GET", f"/v1/rollouts/{ro}").json()["state"], "paused")
        b.wait(lambda dr: "Manual" in dr.find_element(By.CSS_SELECTOR, card).text, 15, "the pause condition")
        # Resume, confirmed.
        self.confirm(f'button[aria-label="Resume rollout {ro}"]')
        self.announced(f"Rollout {ro} is now running.")
        # Abort, cancelled: still running; then confirmed: rolled back.
        self.confirm(f'button[aria-label="Abort rollout {ro}"]', ok=False)
        self.assertEqual(d.request("GET", f"/v1/rollouts/{ro}").json()["state"], "running")
        self.confirm(f'button[aria-label="Abort rollout {ro}"]')
        fctest.wait_until(lambda: d.request("GET", f"/v1/rollouts/{ro}").json()["state"] == "aborted",
                          timeout=30, what="rollout aborted")
        b.go("#/releases?reload=1", "Releases")  # another URL: the same one fires no hashchange
        b.wait(lambda dr: ro in dr.find_element(By.CSS_SELECTOR, "section[aria-labelledby=rollouts-done]").text,
               15, "the rollout among the finished ones")
        self.check_page("operator-releases-finished")
        self.assert_no_browser_errors()

    # unittest runs tests by name: "test_9_" sorts before "test_9b".
    def plot_label(self, caption):
        """The aria-label of the plot in the figure captioned `caption` (it
        carries the plotted numbers as text), or None."""
        return self.b.drv.execute_script(
            "for (const f of document.querySelectorAll('figure.chart')) {"
            "  const c = f.querySelector('figcaption');"
            "  if (c && c.textContent === arguments[0]) {"
            "    const p = f.querySelector('div.plot[role=img]'); return p && p.querySelector('canvas') ?"
            "      p.getAttribute('aria-label') : null; } } return null;", caption)

    def test_9b_operator_certificates_plot_and_renew(self):
        b, d = self.b, self.d
        week = 7 * 24 * 3600
        certs = d.request("GET", "/v1/certificates").json()["items"]
        mine = [c for c in certs if "www.customer.test" in c["hostnames"]]
        self.assertEqual(len(mine), 1, certs)
        cert = mine[0]
        counts = {}
        for c in certs:
            if c.get("not_after"):
                t = calendar.timegm(time.strptime(c["not_after"][:19], "%Y-%m-%dT%H:%M:%S"))
                counts[t - t % week] = counts.get(t - t % week, 0) + 1
        want = "Bar chart of certificates expiring per week: " + "; ".join(
            f"{time.strftime('%Y-%m-%d', time.gmtime(w))}: {n}" for w, n in sorted(counts.items()))
        b.sign_in(d.token)
        b.go("#/certificates", "Certificates")
        b.wait(lambda dr: self.plot_label("Certificates expiring per week"), 15, "the expiry plot")
        self.assertEqual(self.plot_label("Certificates expiring per week"), want)
        self.check_page("operator-certificates")
        # Renew asks first: Cancel places no order; OK renews (Pebble issues version 2).
        version = cert["version"]
        self.confirm(f'button[aria-label="Renew {cert["id"]}"]', ok=False)
        self.assertEqual(d.request("GET", f"/v1/certificates/{cert['id']}").json()["version"], version)
        self.confirm(f'button[aria-label="Renew {cert["id"]}"]', ok=True)
        self.announced(f"Renewal of {cert['id']} started.")
        fctest.wait_until(lambda: d.request("GET", f"/v1/certificates/{cert['id']}").json()["version"] > version,
                          timeout=60, interval=0.3, what="the renewed version")
        types = [e["type"] for e in d.request("GET", "/v1/events?type=certificate.*&limit=100").json()["items"]
                 if e["subject"] == cert["id"]]
        self.assertEqual(types, ["certificate.issued", "certificate.renewed"])
        self.assert_no_browser_errors()

    def test_9c_operator_plots_show_what_the_api_says(self):
        b, d = self.b, self.d

        def pct(part, total):
            v = math.floor(1000 * part / total + 0.5) / 10 if total > 0 else 0
            return str(int(v)) if v == int(v) else str(v)

        b.sign_in(d.token)
        for _ in range(5):  # a heartbeat or a placement between the two reads: read both again
            b.go("#/regions", "Regions")
            b.wait(lambda dr: self.plot_label("Placements per minute, last hour"), 15, "the placements plot")
            regions = d.request("GET", "/v1/regions").json()["items"]
            points = d.request("GET", "/v1/metrics/history").json()["points"]
            ys = [p["placements"] for p in points]
            cap = "Bar chart of allocated capacity per region, in percent. " + "; ".join(
                f"{r['id']}: memory {pct(r['allocated']['memory_mib'], r['capacity']['memory_mib'])}%, "
                f"CPU {pct(r['allocated']['cpu_millis'], r['capacity']['cpu_millis'])}%, "
                f"workspaces {pct(r['allocated']['workspaces'], r['capacity']['workspaces'])}%" for r in regions)
            placed = (f"Bar chart of workspaces placed per minute over the last hour: {sum(ys)} in total, "
                      f"at most {max([0] + ys)} in one minute.")
            got = (self.plot_label("Capacity allocated per region (% of total)"),
                   self.plot_label("Placements per minute, last hour"))
            if got == (cap, placed):
                break
        self.assertEqual(got, (cap, placed))
        self.assertGreaterEqual(sum(ys), 6, "the world placed at least shop, rival, marked, planned, rel-0/1")
        self.assert_no_browser_errors()

    def test_9d_operator_migrates_a_workspace(self):
        b, d = self.b, self.d
        d.create_region("r3", capacity={"memory_mib": 1024, "cpu_millis": 1000, "workspaces": 10})
        d.heartbeat(d.agent_token("r3"), agent_id="console-r3")
        b.sign_in(d.token)
        b.go(f"#/workspace/{self.ws2['id']}", "rival")
        b.wait(lambda dr: "r3" in [o.get_attribute("value") for o in
                                   dr.find_elements(By.CSS_SELECTOR, "#migrate-region option")], 15, "r3 offered")
        Select(b.find("#migrate-region")).select_by_value("r3")
        self.confirm("section[aria-labelledby=migrate-title] button[type=submit]", ok=False)
        self.assertEqual(self.ws_json(self.ws2["id"])["state"], "scheduled")
        self.confirm("section[aria-labelledby=migrate-title] button[type=submit]", ok=True)
        self.announced("Migration of rival started.")
        w = self.ws_json(self.ws2["id"])
        self.assertEqual(w["state"], "migrating", w)
        b.wait(lambda dr: "migrating" in dr.find_element(By.TAG_NAME, "main").text, 15, "migrating on the page")
        self.check_page("operator-workspace-migrating")
        self.assert_no_browser_errors()

    def test_9e_customer_removes_a_domain_escape_cancels(self):
        b, d = self.b, self.d
        host = "bye.customer.test"
        r = d.request("POST", f"/v1/workspaces/{self.ws['id']}/domains", {"hostname": host})
        self.assertEqual(r.status, 201, r)
        b.sign_in(self.tenant(self.ws["id"]))
        b.wait(lambda dr: host in dr.find_element(By.TAG_NAME, "main").text, 15, "the domain listed")
        button = f'button[aria-label="Remove {host}"]'
        # Esc in the confirmation (the keyboard's Cancel): nothing removed, focus back on the button.
        b.find(button).click()
        b.find("dialog#confirm[open]")
        self.assertIn(host, b.find("#confirm-title").text)
        ActionChains(b.drv).send_keys(Keys.ESCAPE).perform()
        b.wait(lambda dr: not dr.find_elements(By.CSS_SELECTOR, "dialog[open]"), 5, "dialog closed")
        self.assertEqual(b.drv.execute_script("return document.activeElement.getAttribute('aria-label')"),
                         f"Remove {host}")
        self.assertEqual(d.request("GET", f"/v1/domains/{host}").status, 200)
        # Confirmed with the keyboard: Tab from Cancel to the OK button, Enter.
        b.find(button).send_keys(Keys.ENTER)
        b.find("dialog#confirm[open]")
        self.assertEqual(b.drv.execute_script("return document.activeElement.id"), "confirm-cancel")
        ActionChains(b.drv).send_keys(Keys.TAB).perform()
        self.assertEqual(b.drv.execute_script("return document.activeElement.id"), "confirm-ok")
        ActionChains(b.drv).send_keys(Keys.ENTER).perform()
        self.announced(f"Removed {host}.")
        self.assertEqual(d.request("GET", f"/v1/domains/{host}").status, 404)
        b.wait(lambda dr: host not in dr.find_element(By.TAG_NAME, "main").text, 15, "the domain gone from the page")
        self.assert_no_browser_errors()

    def test_9f_operator_keyboard_shortcuts_and_server_side_paging(self):
        b, d = self.b, self.d
        d.create_region("r4", capacity={"memory_mib": 65536, "cpu_millis": 32000, "workspaces": 100})
        d.heartbeat(d.agent_token("r4"), agent_id="console-r4")
        for i in range(53):  # more than a page of 50
            r = d.request("POST", "/v1/workspaces", {"name": f"page-{i:02d}", "resources": {"memory_mib": 8,
                                                     "cpu_millis": 5}, "placement": {"regions": ["r4"]}})
            self.assertEqual(r.status, 201, r)
        b.sign_in(d.token)
        b.go("#/regions", "Regions")
        keys = ActionChains(b.drv)
        # "g w" goes to the workspaces, "/" focuses the search box.
        keys.send_keys("g").send_keys("w").perform()
        b.wait(lambda dr: "Workspaces" in [h.text for h in dr.find_elements(By.CSS_SELECTOR, "h1")], 15,
               "g w: the workspaces page")
        ActionChains(b.drv).send_keys("/").perform()
        self.assertEqual(b.drv.execute_script("return document.activeElement.id"), "ws-search")
        ActionChains(b.drv).send_keys("page-").send_keys(Keys.ENTER).perform()
        names = lambda dr: [a.text for a in dr.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")]  # noqa: E731
        b.wait(lambda dr: len(names(dr)) == 50 and all(n.startswith("page-") for n in names(dr)), 15,
               "the first page of 50")
        first = names(b.drv)
        api = d.request("GET", "/v1/workspaces?q=page-&limit=50").json()
        self.assertEqual(first, [w["name"] for w in api["items"]])
        b.find('nav.pager a[rel="next"]').click()
        b.wait(lambda dr: "cursor=" in dr.current_url and len(names(dr)) == 3, 15, "the second page of 3")
        second = names(b.drv)
        self.assertEqual(sorted(first + second), [f"page-{i:02d}" for i in range(53)])
        self.assertFalse(b.drv.find_elements(By.CSS_SELECTOR, 'nav.pager a[rel="next"]'))
        self.check_page("operator-workspaces-page-2")
        # "?" lists the shortcuts; Esc closes it.
        b.drv.execute_script("document.activeElement.blur()")  # out of the search box
        ActionChains(b.drv).send_keys("?").perform()
        b.find("dialog#help[open]")
        ActionChains(b.drv).send_keys(Keys.ESCAPE).perform()
        b.wait(lambda dr: not dr.find_elements(By.CSS_SELECTOR, "dialog[open]"), 5, "help closed")
        self.assert_no_browser_errors()

    def test_9g_tenant_wide_token_lists_only_its_workspaces(self):
        b, d = self.b, self.d
        d.create_region("r5", capacity={"memory_mib": 1024, "cpu_millis": 1000, "workspaces": 10})
        d.heartbeat(d.agent_token("r5"), agent_id="console-r5")
        r = d.request("POST", "/v1/tenants", {"name": "globex"})
        self.assertEqual(r.status, 201, r)
        tenant = r.json()
        mine = []
        for name in ("globex-a", "globex-b"):
            r = d.request("POST", "/v1/workspaces", {"name": name, "tenant": "globex", "plan": "basic",
                                                    "placement": {"regions": ["r5"]}})
            self.assertEqual(r.status, 201, r)
            mine.append(r.json())
        r = d.request("POST", f"/v1/tenants/{tenant['id']}/tokens")
        self.assertEqual(r.status, 201, r)
        b.sign_in(r.json()["token"])
        b.wait(lambda dr: "My workspaces" in [h.text for h in dr.find_elements(By.CSS_SELECTOR, "h1")], 15,
               "the tenant's workspaces page")
        rows = lambda dr: [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]  # noqa: E731
                           for tr in dr.find_elements(By.CSS_SELECTOR, "tbody tr")]
        b.wait(lambda dr: sorted(r[0] for r in rows(dr)) == ["globex-a", "globex-b"], 15, "its two workspaces")
        for row in rows(b.drv):
            self.assertEqual(row[1], f"https://{row[0]}.{ZONE}/")
        self.assertEqual(b.find("nav#nav a[aria-current=page]").text, "My workspaces")
        self.check_page("tenant-wide-workspaces")
        # Into one of them, and nothing of another tenant's by editing the URL.
        b.drv.find_element(By.LINK_TEXT, "globex-b").click()
        b.wait(lambda dr: "globex-b" in [h.text for h in dr.find_elements(By.CSS_SELECTOR, "h1")], 15,
               "globex-b's page")
        b.go(f"#/workspace/{self.ws['id']}", "Not found")
        self.assertNotIn("shop", b.text())
        self.assert_no_browser_errors()


class ConsoleHttp(fctest.DaemonTest):
    """/ui over plain HTTP: headers, ETags, and every file as committed."""

    def files(self):
        return sorted(f for f in os.listdir(os.path.join(SRC, "console"))
                      if f.endswith((".html", ".js", ".css")))

    def test_headers_and_files(self):
        for path in ["/ui"] + ["/ui/" + f for f in self.files()]:
            r = self.d.request("GET", path, auth=False)
            self.assertEqual(r.status, 200, path)
            csp = r.headers["content-security-policy"]
            for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'",
                              "frame-ancestors 'none'", "require-trusted-types-for 'script'", "base-uri 'none'"):
                self.assertIn(directive, csp, path)
            self.assertNotIn("unsafe-inline", csp)
            self.assertNotIn("unsafe-eval", csp)
            self.assertEqual(r.headers["x-content-type-options"], "nosniff", path)
            self.assertEqual(r.headers["x-frame-options"], "DENY", path)
            name = "index.html" if path == "/ui" else path[4:]
            with open(os.path.join(SRC, "console", name), "rb") as f:
                self.assertEqual(r.body, f.read(), path)
            want = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}[os.path.splitext(name)[1]]
            self.assertTrue(r.headers["content-type"].startswith(want), (path, r.headers["content-type"]))
            again = self.d.request("GET", path, auth=False, headers={"If-None-Match": r.headers["etag"]})
            self.assertEqual((again.status, again.body), (304, b""), path)
        r = self.d.request("GET", "/ui/nope.js", auth=False)
        self.assertEqual(r.status, 404)
        self.assertIn("content-security-policy", r.headers)
        for bad in ("/ui/..%2fetc%2fpasswd", "/ui/%2e%2e", "/ui/app.js/x"):
            self.assertEqual(self.d.request("GET", bad, auth=False).status, 404, bad)

    def test_no_inline_script_or_style_in_the_page(self):
        html = self.d.request("GET", "/ui", auth=False).body.decode()
        self.assertNotIn("<script>", html)
        self.assertNotIn(" style=", html)
        self.assertIsNone(re.search(r"\son[a-z]+\s*=", html), "inline event handler")
        for f in self.files():
            if f.endswith(".js") and not f.startswith("uPlot"):
                src = open(os.path.join(SRC, "console", f), encoding="utf-8").read()
                for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                             "new Function"):
                    self.assertNotIn(sink, src, f)

    def test_only_public_api_paths(self):
        """The console has no private endpoint: every /v1 path its scripts
        name is (a prefix of) a path of the published OpenAPI document."""
        spec_file = os.environ.get("FC_OPENAPI_JSON")
        if not spec_file or not os.path.exists(spec_file):
            self.skipTest("FC_OPENAPI_JSON not built")
        with open(spec_file) as f:
            paths = [re.sub(r"\{[^}]+\}", "X", p) for p in json.load(f)["paths"]]
        used = set()
        for name in self.files():
            if name.endswith(".js") and not name.startswith("uPlot"):
                with open(os.path.join(SRC, "console", name), encoding="utf-8") as f:
                    used |= set(re.findall(r"[\"'`](/v1/[^\"'`?]*)", f.read()))
        self.assertGreater(len(used), 10, used)
        for u in sorted(used):
            self.assertTrue(any(p.startswith(u) for p in paths), f"{u} is not in the OpenAPI document")


class VendoredUplot(unittest.TestCase):
    def test_vendored_file_is_the_pinned_package(self):
        if shutil.which("npm") is None:
            self.skipTest("npm is not installed")
        dest = os.path.join(BUILD or "/tmp", "console-vendor")
        if not npm_install(os.path.join(SRC, "console"), dest, os.path.join("node_modules", "uplot", "dist")):
            self.skipTest("npm could not install console/package-lock.json (offline?)")
        lock = json.load(open(os.path.join(SRC, "console", "package-lock.json")))
        pinned = lock["packages"]["node_modules/uplot"]["version"]
        pkg = json.load(open(os.path.join(dest, "node_modules", "uplot", "package.json")))
        self.assertEqual(pkg["version"], pinned)
        for name in ("uPlot.iife.min.js", "uPlot.min.css"):
            with open(os.path.join(dest, "node_modules", "uplot", "dist", name), "rb") as a, \
                    open(os.path.join(SRC, "console", name), "rb") as b:
                self.assertEqual(a.read(), b.read(), f"console/{name} differs from uplot@{pinned}")


if __name__ == "__main__":
    if "--prepare" in sys.argv:
        sys.exit(0 if install_axe() else 1)
    t0 = time.monotonic()
    try:
        fctest.main()
    finally:
        print(f"console itest: {time.monotonic() - t0:.1f} s", file=sys.stderr)
