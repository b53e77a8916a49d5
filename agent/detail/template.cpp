// The built-in template, variable defaults and the per-workspace scope.
#include "agent/detail/render.hpp"

namespace fc::agent {

const std::map<std::string, std::string>& builtin_defaults() {
  static const std::map<std::string, std::string> kDefaults = {
      {"namespace", "fleet"},
      {"image", "rocketchat/rocket.chat:6.5.0"},
      {"replicas", "1"},
      {"progress_deadline_s", "600"},
      {"container_port", "3000"},
      {"ingress_class", "traefik"},
      {"mongo_url", "mongodb://mongodb.fleet.svc.cluster.local:27017"},
      {"acme_responder_host", "fleetcommand-acme.fleet-system.svc.cluster.local"},
      {"acme_responder_port", "8081"},
      // JSON objects of string values merged into the workspace Service's
      // and the Ingress's annotations ($merge); empty = none (docs/deploy.md
      // "The edge": Traefik sticky sessions and circuit breaker).
      {"service_annotations", ""},
      {"ingress_annotations", ""},
      // Where a suspended workspace's hostnames go (docs/tenants.md
      // "Suspend"): a Service in the namespace that serves the "suspended"
      // page, deployed once per region by the operator.
      {"suspended_service", "fleetcommand-suspended"},
      {"suspended_port", "80"},
  };
  return kDefaults;
}

// One Deployment, one Service, an ExternalName Service to the control plane's
// HTTP-01 responder, one Ingress (a rule per hostname, the ACME path on every
// one) and a kubernetes.io/tls Secret per certificate. One text literal: reads better whole.
const char* builtin_template_text() {
  return R"JSON({
  "objects": [
    {
      "apiVersion": "apps/v1", "kind": "Deployment",
      "metadata": {"name": "{{resource_name}}", "namespace": "{{namespace}}",
                   "labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                              "fleetcommand.io/workspace": "{{resource_name}}"},
                   "annotations": {"fleetcommand.io/workspace-name": "{{name}}",
                                   "fleetcommand.io/generation": "{{generation}}"}},
      "spec": {
        "replicas": "{{replicas|int}}",
        "progressDeadlineSeconds": "{{progress_deadline_s|int}}",
        "selector": {"matchLabels": {"fleetcommand.io/workspace": "{{resource_name}}"}},
        "template": {
          "metadata": {"labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                                  "fleetcommand.io/workspace": "{{resource_name}}"}},
          "spec": {"containers": [{
            "name": "app", "image": "{{image}}",
            "ports": [{"name": "http", "containerPort": "{{container_port|int}}"}],
            "env": [
              {"name": "ROOT_URL", "value": "https://{{hostname}}"},
              {"name": "PORT", "value": "{{container_port}}"},
              {"name": "MONGO_URL", "value": "{{mongo_url}}/{{resource_name}}"},
              {"$each": "env", "item": {"name": "{{key}}", "value": "{{value}}"}}
            ],
            "resources": {
              "requests": {"memory": "{{memory_mib}}Mi", "cpu": "{{cpu_millis}}m"},
              "limits": {"memory": "{{memory_mib}}Mi"}
            },
            "readinessProbe": {"httpGet": {"path": "/api/info", "port": "{{container_port|int}}"},
                               "initialDelaySeconds": 10, "periodSeconds": 10},
            "livenessProbe": {"httpGet": {"path": "/api/info", "port": "{{container_port|int}}"},
                              "initialDelaySeconds": 60, "periodSeconds": 20, "failureThreshold": 6}
          }]}
        }
      }
    },
    {
      "apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "{{resource_name}}", "namespace": "{{namespace}}",
                   "labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                              "fleetcommand.io/workspace": "{{resource_name}}"},
                   "annotations": {"$merge": "service_annotations"}},
      "spec": {"selector": {"fleetcommand.io/workspace": "{{resource_name}}"},
               "ports": [{"name": "http", "port": 80, "targetPort": "{{container_port|int}}"}]}
    },
    {
      "apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "{{resource_name}}-acme", "namespace": "{{namespace}}",
                   "labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                              "fleetcommand.io/workspace": "{{resource_name}}"}},
      "spec": {"type": "ExternalName", "externalName": "{{acme_responder_host}}",
               "ports": [{"name": "http", "port": "{{acme_responder_port|int}}"}]}
    },
    {
      "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
      "metadata": {"name": "{{resource_name}}", "namespace": "{{namespace}}",
                   "labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                              "fleetcommand.io/workspace": "{{resource_name}}"},
                   "annotations": {"$merge": "ingress_annotations"}},
      "spec": {
        "ingressClassName": "{{ingress_class}}",
        "tls": [{"$each": "certificates", "item": {
          "hosts": [{"$each": "cert.hostnames", "item": "{{hostname}}"}],
          "secretName": "{{cert.secret_name}}"}}],
        "rules": [{"$each": "hostnames", "item": {
          "host": "{{hostname}}",
          "http": {"paths": [
            {"path": "/.well-known/acme-challenge/", "pathType": "Prefix",
             "backend": {"service": {"name": "{{resource_name}}-acme",
                                     "port": {"number": "{{acme_responder_port|int}}"}}}},
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "{{backend_service}}",
                                     "port": {"number": "{{backend_port|int}}"}}}}
          ]}}}]
      }
    },
    {"$each": "certificates", "item": {
      "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
      "metadata": {"name": "{{cert.secret_name}}", "namespace": "{{namespace}}",
                   "labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                              "fleetcommand.io/workspace": "{{resource_name}}"},
                   "annotations": {"fleetcommand.io/certificate-id": "{{cert.id}}",
                                   "fleetcommand.io/certificate-version": "{{cert.version}}"}},
      "data": {"tls.crt": "{{cert.tls_crt}}", "tls.key": "{{cert.tls_key}}"}}}
  ]
})JSON";
}

namespace {

std::vector<Scope> hostname_scopes(const std::vector<std::string>& hosts) {
  std::vector<Scope> out;
  for (const auto& h : hosts) out.push_back(Scope{{{"hostname", h}}, {}});
  return out;
}

Result<Scope> certificate_scope(const proto::CertificateRef& ref, const std::string& owner,
                                const CertLookup& certs) {
  const proto::CertificateBundle* b = certs ? certs(ref.id) : nullptr;
  if (b == nullptr || b->version != ref.version) {
    return make_error(Code::kUnavailable, "certificate " + ref.id + " version " +
                                              std::to_string(ref.version) + " not fetched");
  }
  Scope s;
  s.vars = {{"cert.id", ref.id},
            {"cert.version", std::to_string(ref.version)},
            {"cert.secret_name", owner + "-" + k8s_name(ref.id)},
            {"cert.not_after", b->not_after},
            {"cert.tls_crt", base64(b->certificate_pem)},
            {"cert.tls_key", base64(b->private_key_pem)}};
  s.lists["cert.hostnames"] = hostname_scopes(ref.hostnames.empty() ? b->hostnames : ref.hostnames);
  return s;
}

}  // namespace

Result<Scope> workspace_scope(const proto::Assignment& a, const Template& t,
                              const std::map<std::string, std::string>& settings,
                              const CertLookup& certs) {
  Scope s;
  s.vars = builtin_defaults();
  for (const auto& [k, v] : t.defaults) s.vars[k] = v;
  for (const auto& [k, v] : settings) s.vars[k] = v;
  const std::string owner = k8s_name(a.workspace_id);
  s.vars["name"] = a.name;
  s.vars["workspace_id"] = a.workspace_id;
  s.vars["resource_name"] = owner;
  s.vars["generation"] = std::to_string(a.generation);
  s.vars["memory_mib"] = std::to_string(a.resources.memory_mib);
  s.vars["cpu_millis"] = std::to_string(a.resources.cpu_millis);
  s.vars["hostname"] = a.hostnames.empty() ? a.name : a.hostnames.front();
  if (a.spec.image) s.vars["image"] = *a.spec.image;
  // Suspended: no replica, data (MONGO_URL's database) untouched, and the
  // Ingress sends "/" to the suspended page; the ACME path keeps working so
  // certificates still renew.
  s.vars["backend_service"] = owner;
  s.vars["backend_port"] = "80";
  if (a.suspended) {
    s.vars["replicas"] = "0";
    s.vars["backend_service"] = s.vars["suspended_service"];
    s.vars["backend_port"] = s.vars["suspended_port"];
  }
  s.lists["hostnames"] = hostname_scopes(a.hostnames);
  auto& env = s.lists["env"];
  for (const auto& [k, v] : a.spec.env) env.push_back(Scope{{{"key", k}, {"value", v}}, {}});
  auto& cs = s.lists["certificates"];
  for (const auto& ref : a.certificates) {
    BOOST_OUTCOME_TRY(c, certificate_scope(ref, owner, certs));
    cs.push_back(std::move(c));
  }
  return s;
}

Status validate_template(const Template& t, const std::map<std::string, std::string>& settings) {
  proto::Assignment a;
  a.workspace_id = "ws_00000000000000000000000000";
  a.name = "example";
  a.generation = 1;
  a.resources = {512, 250};
  a.spec.env = {{"KEY", "value"}};
  a.hostnames = {"example.fleet.test", "chat.example.com"};
  a.certificates = {{"crt_0", {"chat.example.com"}, 1}};
  proto::CertificateBundle b{"crt_0", 1,     {"chat.example.com"},
                             "CERT",  "KEY", "2030-01-01T00:00:00Z"};
  CertLookup lookup = [&](const std::string&) { return &b; };
  BOOST_OUTCOME_TRY(scope, workspace_scope(a, t, settings, lookup));
  BOOST_OUTCOME_TRY(objs, render(t, scope));
  if (objs.empty()) return make_error(Code::kInvalidArgument, "template renders no objects");
  return ok();
}

}  // namespace fc::agent
