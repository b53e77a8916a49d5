"""The Kubernetes manifests in deploy/kubernetes, consumed by the real tools:
every base and overlay renders with `kubectl kustomize` (written for kustomize
v2 as in Debian's kubectl 1.20, and newer); every rendered object is valid
against the Kubernetes OpenAPI schemas (npm kubernetes-models, pinned by
deploy/kubernetes/tests/package-lock.json); the workloads carry the security
settings docs/deploy.md promises; and the agent's Role grants exactly what
the built-in template's objects and the status command need — nothing
missing, nothing extra."""
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import unittest

import yaml

import fctest
from kubernetes_edge import TraefikEdgeTest  # noqa: F401 (run by fctest.main)

SRC = os.environ.get("FC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(SRC, "deploy", "kubernetes")
BUILD = os.environ.get("FC_BUILD_DIR", "/tmp")
DIRS = ["agent/base", "agent/overlays/example", "control-plane/base",
        "control-plane/overlays/sqlite", "control-plane/overlays/postgres"]
RESOURCE = {"Deployment": "deployments", "Service": "services", "Secret": "secrets",
            "Ingress": "ingresses", "ConfigMap": "configmaps", "Pod": "pods"}
GROUP = {"deployments": "apps", "pods": "", "services": "", "secrets": "",
         "ingresses": "networking.k8s.io", "configmaps": ""}
APPLY_VERBS = {"get", "create", "patch", "delete"}  # server-side apply, delete


def run(*args, check=True, timeout=300, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def npm_models():
    """node_modules for validate.js, installed by `npm ci` from the lock file
    into the build tree (once per lock file)."""
    src = os.path.join(K8S, "tests")
    with open(os.path.join(src, "package-lock.json"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    dest = os.path.join(BUILD, "npm", f"kubernetes-models-{digest}")
    if not os.path.isdir(os.path.join(dest, "node_modules", "kubernetes-models")):
        os.makedirs(dest, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(src, name), dest)
        run("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", cwd=dest, timeout=600)
    return dest


def pod_specs(objects):
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet"):
            yield o, o["spec"]["template"]["spec"]


class KubernetesManifestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("kubectl", "node", "npm"):
            if not shutil.which(tool):
                raise AssertionError(f"{tool} is missing (scripts/install-deps.sh installs it)")
        cls.rendered = {}
        for d in DIRS:
            out = run("kubectl", "kustomize", os.path.join(K8S, d)).stdout
            cls.rendered[d] = [o for o in yaml.safe_load_all(out) if o]

    def test_every_object_is_valid_against_the_kubernetes_schemas(self):
        models = npm_models()
        everything = [o for objs in self.rendered.values() for o in objs]
        r = run("node", os.path.join(K8S, "tests", "validate.js"), check=False,
                input=json.dumps(everything), env=dict(os.environ,
                                                      NODE_PATH=os.path.join(models,
                                                                             "node_modules")))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("invalid", r.stdout)
        print(f"{len(everything)} rendered objects valid "
              f"({', '.join(f'{d}: {len(o)}' for d, o in self.rendered.items())})")

    def test_workloads_are_locked_down(self):
        for d, objs in self.rendered.items():
            specs = list(pod_specs(objs))
            self.assertTrue(specs, f"{d} renders no workload")
            for o, spec in specs:
                where = f"{d} {o['kind']}/{o['metadata']['name']}"
                self.assertTrue(spec["securityContext"]["runAsNonRoot"], where)
                self.assertNotEqual(spec["securityContext"]["runAsUser"], 0, where)
                for c in spec["containers"]:
                    sc = c["securityContext"]
                    self.assertTrue(sc["readOnlyRootFilesystem"], where)
                    self.assertFalse(sc["allowPrivilegeEscalation"], where)
                    self.assertEqual(sc["capabilities"]["drop"], ["ALL"], where)
                    self.assertIn("requests", c["resources"], where)
                    self.assertIn("memory", c["resources"]["limits"], where)
                    self.assertIn("readinessProbe", c, where)
                    if o["kind"] == "StatefulSet":  # the daemon serves /healthz
                        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        for d in ("agent/base", "agent/overlays/example"):
            kinds = {o["kind"] for o in self.rendered[d]}
            self.assertTrue({"NetworkPolicy", "PersistentVolumeClaim", "Role", "RoleBinding",
                             "ServiceAccount"} <= kinds, kinds)
            np = next(o for o in self.rendered[d] if o["kind"] == "NetworkPolicy")
            self.assertIn("Egress", np["spec"]["policyTypes"])
            ports = {p["port"] for rule in np["spec"]["egress"] for p in rule["ports"]}
            self.assertEqual(ports, {443, 6443, 53}, "egress beyond control plane, API, DNS")
            self.assertIn("Ingress", np["spec"]["policyTypes"])
            self.assertEqual([(p["protocol"], p["port"]) for rule in np["spec"]["ingress"]
                              for p in rule["ports"]], [("TCP", 9102)],
                             "ingress only to the health port")
            for rule in np["spec"]["ingress"]:
                self.assertEqual([f["namespaceSelector"]["matchLabels"] for f in rule["from"]],
                                 [{"kubernetes.io/metadata.name": "monitoring"}])
            agent = next(o for o in self.rendered[d] if o["kind"] == "Deployment")
            self.assert_agent_probes(d, agent)
            vols = {v["name"]: v for v in agent["spec"]["template"]["spec"]["volumes"]}
            self.assertEqual(vols["token"]["secret"]["secretName"], "fleetcommand-agent-token")
            self.assertIn("persistentVolumeClaim", vols["state"])
        for d in ("control-plane/base", "control-plane/overlays/sqlite",
                  "control-plane/overlays/postgres"):
            kinds = [o["kind"] for o in self.rendered[d]]
            self.assertIn("PodDisruptionBudget", kinds)
            self.assertIn("StatefulSet", kinds)
            if d.endswith("postgres"):  # only the leader serves DNS: no Service over the replicas
                self.assertFalse([o for o in self.rendered[d] if o["kind"] == "Service" and any(
                    p.get("targetPort") in ("dns-udp", "dns-tcp") for p in o["spec"]["ports"])])
                continue
            dns = next(o for o in self.rendered[d] if o["metadata"]["name"] == "fleetcommand-dns")
            self.assertEqual({(p["port"], p["protocol"]) for p in dns["spec"]["ports"]},
                             {(53, "UDP"), (53, "TCP")})

    def test_postgres_overlay_runs_several_daemons_on_one_database(self):
        """Three replicas, the URL from a Secret (never in the ConfigMap), every
        replica advertising its own address, one shared key-encryption key, and
        a budget that lets one replica go at a time."""
        objs = self.rendered["control-plane/overlays/postgres"]
        sts = next(o for o in objs if o["kind"] == "StatefulSet")
        self.assertEqual(sts["spec"]["replicas"], 3)
        self.assertEqual(sts["spec"]["podManagementPolicy"], "OrderedReady")
        cm = next(o for o in objs if o["kind"] == "ConfigMap")
        cfg = json.loads(cm["data"]["fleetcommand.json"])
        self.assertEqual(cfg["storage"]["backend"], "postgres")
        self.assertNotIn("postgres_url", cfg["storage"], "the URL (with its password) belongs in a Secret")
        spec = sts["spec"]["template"]["spec"]
        c = spec["containers"][0]
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["FLEETCOMMAND_STORAGE_POSTGRES_URL"]["valueFrom"]["secretKeyRef"],
                         {"name": "fleetcommand-postgres", "key": "url"})
        self.assertEqual(env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP")
        self.assertEqual(env["FLEETCOMMAND_STORAGE_HA_ADVERTISE_URL"]["value"], "http://$(POD_IP):8080")
        vols = {v["name"]: v for v in spec["volumes"]}
        self.assertEqual(vols["kek"]["secret"]["secretName"], "fleetcommand-kek")
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        self.assertEqual(os.path.join(mounts["kek"], "kek.key"), cfg["certs"]["key_encryption_key_file"])
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        pdb = next(o for o in objs if o["kind"] == "PodDisruptionBudget")
        self.assertEqual(pdb["spec"]["minAvailable"], 2)
        # The configuration the overlay ships is one the daemon accepts (with
        # the URL and the advertised address the environment gives it).
        if fctest.FC_BIN:
            import tempfile
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "fleetcommand.json")
                cfg["database"]["path"] = os.path.join(tmp, "fleetcommand.db")
                cfg["auth"]["admin_token_file"] = os.path.join(tmp, "admin.token")
                with open(path, "w") as f:
                    json.dump(cfg, f)
                env = dict(os.environ, FLEETCOMMAND_STORAGE_POSTGRES_URL="postgresql://fc:s3cret@db:5432/fleet",
                           FLEETCOMMAND_STORAGE_HA_ADVERTISE_URL="http://10.0.0.7:8080")
                r = run(fctest.FC_BIN, "check-config", "--config", path, env=env, check=False)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("http://10.0.0.7:8080", r.stdout)
                self.assertNotIn("s3cret", r.stdout + r.stderr)

    def assert_agent_probes(self, d, agent):
        """HTTP probes on the port --health-listen binds, named `health`."""
        c = agent["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p for p in c.get("ports", [])}
        self.assertIn("health", ports, f"{d}: no containerPort named health")
        listen = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--health-listen=")]
        self.assertEqual(len(listen), 1, f"{d}: --health-listen missing")
        self.assertEqual(int(listen[0].rsplit(":", 1)[1]), ports["health"]["containerPort"], d)
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            self.assertIn(probe, c, f"{d}: {probe} missing")
            self.assertNotIn("exec", c[probe], f"{d}: {probe} must be HTTP")
            self.assertEqual(c[probe]["httpGet"], {"path": path, "port": "health"}, d)

    def test_agent_arguments_are_flags_the_agent_knows(self):
        usage = run(fctest.FC_BIN, "agent", "--help").stdout
        for d in ("agent/base", "agent/overlays/example"):
            agent = next(o for o in self.rendered[d] if o["kind"] == "Deployment")
            for arg in agent["spec"]["template"]["spec"]["containers"][0]["args"]:
                flag = arg.split("=", 1)[0]
                self.assertIn(flag + " ", usage, f"{d}: {flag} is not an agent flag")

    def needed_permissions(self, agent_deployment):
        template = json.loads(run(fctest.FC_BIN, "agent", "--print-template").stdout)
        needed = set()

        def walk(node):
            if isinstance(node, dict):
                if "apiVersion" in node and "kind" in node:
                    res = RESOURCE[node["kind"]]
                    needed.update((GROUP[res], res, v) for v in APPLY_VERBS)
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(template)
        args = agent_deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        status = next(a.split("=", 1)[1] for a in args if a.startswith("--status-command="))
        words = shlex.split(status)
        self.assertEqual(words[:2], ["kubectl", "get"])
        self.assertNotIn("--all-namespaces", words, "a Role cannot list other namespaces")
        for res in words[2].split(","):
            needed.add((GROUP[res], res, "list"))
        return needed

    def test_agent_role_is_exactly_what_the_template_needs(self):
        for d in ("agent/base", "agent/overlays/example"):
            objs = self.rendered[d]
            role = next(o for o in objs if o["kind"] == "Role")
            granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
                       for r in rule["resources"] for v in rule["verbs"]}
            needed = self.needed_permissions(next(o for o in objs if o["kind"] == "Deployment"))
            self.assertEqual(sorted(needed - granted), [], f"{d}: missing from the Role")
            self.assertEqual(sorted(granted - needed), [], f"{d}: more than needed")
            self.assertEqual(role["metadata"]["namespace"], "fleet")
            binding = next(o for o in objs if o["kind"] == "RoleBinding")
            self.assertEqual(binding["subjects"][0]["name"], "fleetcommand-agent")
            self.assertFalse(any(o["kind"] in ("ClusterRole", "ClusterRoleBinding") for o in objs))


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:  # scripts/test.sh, during the build
        npm_models()
    else:
        fctest.main()
