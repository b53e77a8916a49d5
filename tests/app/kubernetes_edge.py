"""The Traefik edge example (deploy/edge/traefik). Traefik is not in Debian,
so no test runs it; what the real tools can check is checked: the YAML
parses, `kubectl kustomize` renders the manifests and every object is valid
against the Kubernetes OpenAPI schemas (as deploy/kubernetes); the static
and dynamic configuration keep the HTTP→HTTPS redirect's one exception
(/.well-known/acme-challenge/), the Ingress provider watches the class and
namespace the agent's template writes; and the template's optional Traefik
annotations, rendered by the real agent from the real daemon, are absent by
default, present when set, and still valid objects. Run from
kubernetes_itest.py (it shares the npm schema install)."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import yaml

import fctest

SRC = os.environ.get("FC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
EDGE = os.path.join(SRC, "deploy", "edge", "traefik")
K8S = os.path.join(SRC, "deploy", "kubernetes")
STICKY = {"traefik.ingress.kubernetes.io/service.sticky.cookie": "true",
          "traefik.ingress.kubernetes.io/service.sticky.cookie.name": "fc_affinity",
          "traefik.ingress.kubernetes.io/service.sticky.cookie.secure": "true",
          "traefik.ingress.kubernetes.io/service.sticky.cookie.httponly": "true"}
BREAKER = {"traefik.ingress.kubernetes.io/router.middlewares": "circuit-breaker@file"}


def edge_run(*args, check=True, timeout=300, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def validate(testcase, objects):
    from kubernetes_itest import npm_models  # the same pinned install
    models = npm_models()
    r = edge_run("node", os.path.join(K8S, "tests", "validate.js"), check=False,
                 input=json.dumps(objects),
                 env=dict(os.environ, NODE_PATH=os.path.join(models, "node_modules")))
    testcase.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    testcase.assertNotIn("invalid", r.stdout)


def load_yaml(name):
    with open(os.path.join(EDGE, name)) as f:
        return yaml.safe_load(f)


class TraefikEdgeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = edge_run("kubectl", "kustomize", EDGE).stdout
        cls.objects = [o for o in yaml.safe_load_all(out) if o]
        cls.static = load_yaml("traefik.yml")
        cls.dynamic = load_yaml("dynamic.yml")

    def test_manifests_are_valid_objects(self):
        validate(self, self.objects)
        kinds = sorted(o["kind"] for o in self.objects)
        print(f"edge: {len(self.objects)} objects valid ({', '.join(kinds)})")
        cm = next(o for o in self.objects if o["kind"] == "ConfigMap")
        self.assertEqual(yaml.safe_load(cm["data"]["traefik.yml"]), self.static)
        self.assertEqual(yaml.safe_load(cm["data"]["dynamic.yml"]), self.dynamic)
        dep = next(o for o in self.objects if o["kind"] == "Deployment")
        spec = dep["spec"]["template"]["spec"]
        self.assertTrue(spec["securityContext"]["runAsNonRoot"])
        c = spec["containers"][0]
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(c["args"], ["--configFile=/etc/traefik/traefik.yml"])
        mounts = {m["mountPath"] for m in c["volumeMounts"]}
        self.assertIn("/etc/traefik", mounts)
        for f in ("certFile", "keyFile"):
            path = self.dynamic["tls"]["stores"]["default"]["defaultCertificate"][f]
            self.assertTrue(any(path.startswith(m + "/") for m in mounts), path)
        svc = next(o for o in self.objects if o["kind"] == "Service")
        self.assertEqual({p["port"] for p in svc["spec"]["ports"]}, {80, 443})

    def test_entry_points_and_the_redirect_exception(self):
        eps = self.static["entryPoints"]
        self.assertIn("web", eps)
        self.assertIn("websecure", eps)
        # An entry-point redirect would also redirect the ACME challenge path.
        self.assertNotIn("redirections", (eps["web"].get("http") or {}))
        routers = self.dynamic["http"]["routers"]
        on_web = {n: r for n, r in routers.items() if r["entryPoints"] == ["web"]}
        acme = [r for r in on_web.values()
                if r["rule"] == "PathPrefix(`/.well-known/acme-challenge/`)"]
        redirect = [r for r in on_web.values() if r["rule"] == "PathPrefix(`/`)"]
        self.assertEqual(len(acme), 1, "no router keeps the ACME challenge on plain HTTP")
        self.assertEqual(len(redirect), 1, "no catch-all redirect on port 80")
        self.assertNotIn("middlewares", acme[0], "the challenge path must not be redirected")
        self.assertGreater(acme[0]["priority"], redirect[0]["priority"])
        # Above any Ingress router (default priority: the rule's length).
        self.assertGreater(redirect[0]["priority"], 4 * 253)
        mw = self.dynamic["http"]["middlewares"][redirect[0]["middlewares"][0]]
        self.assertEqual(mw["redirectScheme"]["scheme"], "https")
        url = self.dynamic["http"]["services"][acme[0]["service"]]["loadBalancer"]["servers"][0]
        self.assertTrue(url["url"].endswith(":8081"), url)  # acme_responder_port
        self.assertIn("circuitBreaker", self.dynamic["http"]["middlewares"]["circuit-breaker"])

    def test_ingress_provider_watches_the_templates_class(self):
        provider = self.static["providers"]["kubernetesIngress"]
        cls = next(o for o in self.objects if o["kind"] == "IngressClass")
        self.assertEqual(provider["ingressClass"], cls["metadata"]["name"])
        self.assertEqual(cls["spec"]["controller"], "traefik.io/ingress-controller")
        self.assertTrue(provider["allowExternalNameServices"], "the ACME ExternalName Service")
        usage = edge_run(fctest.FC_BIN, "agent", "--help").stdout
        self.assertIn("ingress_class", usage)
        self.assertEqual(provider["ingressClass"], "traefik")  # the template's default
        self.assertEqual(provider["namespaces"], ["fleet"])  # the template's default namespace
        self.assertEqual(self.dynamic["tls"]["options"]["default"]["minVersion"], "VersionTLS12")

    def test_template_annotations_off_by_default_and_valid_when_set(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        d = fctest.Daemon().start()
        try:
            d.create_region("eu")
            token = d.agent_token("eu")
            d.heartbeat(token)  # a region takes workspaces once an agent was seen
            r = d.request("POST", "/v1/workspaces",
                          {"name": "edge", "resources": {"memory_mib": 256, "cpu_millis": 100}})
            self.assertEqual(r.status, 201, r)
            plain = self.render(d, token)
            for o in plain:
                if o["kind"] in ("Ingress", "Service"):
                    self.assertNotIn("annotations", o["metadata"], o["metadata"]["name"])
            marked = self.render(d, token, "--set", "service_annotations=" + json.dumps(STICKY),
                                 "--set", "ingress_annotations=" + json.dumps(BREAKER))
            ing = next(o for o in marked if o["kind"] == "Ingress")
            self.assertEqual(ing["metadata"]["annotations"], BREAKER)
            svc = [o for o in marked if o["kind"] == "Service" and o["spec"].get("type") != "ExternalName"]
            self.assertEqual(svc[0]["metadata"]["annotations"], STICKY)
            validate(self, plain + marked)
            bad = self.render(d, token, "--set", "ingress_annotations=[1]", expect=2)
            self.assertIn("ingress_annotations", bad)
        finally:
            d.cleanup()

    def render(self, d, token, *extra, expect=0):
        root = tempfile.mkdtemp(prefix="fc-edge-", dir=d.dir)
        with open(os.path.join(root, "token"), "w") as f:
            f.write(token)
        out = os.path.join(root, "out")
        r = edge_run(fctest.FC_BIN, "agent", "--api", f"http://127.0.0.1:{d.api_port}",
                     "--token-file", os.path.join(root, "token"), "--state-dir",
                     os.path.join(root, "state"), "--out", out, "--once", *extra,
                     check=False, timeout=60)
        self.assertEqual(r.returncode, expect, r.stderr)
        if expect:
            return r.stderr
        objs = []
        for dirpath, _, files in os.walk(out):
            for name in sorted(files):
                with open(os.path.join(dirpath, name)) as f:
                    objs.append(json.load(f))
        shutil.rmtree(root, ignore_errors=True)
        self.assertTrue(any(o["kind"] == "Ingress" for o in objs), objs)
        return objs
