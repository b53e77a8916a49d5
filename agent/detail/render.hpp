// Template rendering: a pure function from (template, variables) to
// Kubernetes objects. See docs/agent.md "Template format".
//
// A template is a JSON document {"defaults":{var:string…}, "objects":[…]}.
// Placeholders `{{var}}` are substituted inside JSON *string values* only, on
// a parsed document, so a value can never change the JSON structure. A string
// that is exactly `{{var|int}}` becomes a JSON integer. An array element
// {"$each":"LIST","item":X} expands to one X per element of LIST, with that
// element's variables in scope (lists: hostnames, env, certificates,
// cert.hostnames).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/protocol.hpp"
#include "common/result.hpp"

namespace fc::agent {

using json = nlohmann::json;

struct Scope {
  std::map<std::string, std::string> vars;
  std::map<std::string, std::vector<Scope>> lists;
};

struct Template {
  json objects;                                 // the "objects" array
  std::map<std::string, std::string> defaults;  // the template's own defaults
};

// Identifies one Kubernetes object; `key()` is its deterministic file name
// relative to --out: "<namespace>/<kind lower-case>-<name>.json".
struct ObjectRef {
  std::string api_version;
  std::string kind;
  std::string name_space;
  std::string name;
  std::string key() const;
  bool operator==(const ObjectRef&) const = default;
  auto operator<=>(const ObjectRef&) const = default;
};

struct RenderedObject {
  ObjectRef ref;
  json body;
};

// Built-in defaults of the variables a user may `--set` (docs/agent.md).
const std::map<std::string, std::string>& builtin_defaults();
// The built-in template's text.
const char* builtin_template_text();

Result<Template> parse_template(std::string_view text);

// Lower-case, [a-z0-9-] only: "ws_01JD" → "ws-01jd". Object names derived from
// ids are unique and valid DNS labels.
std::string k8s_name(std::string_view id);

std::string base64(std::string_view bytes);

// Certificates by id; the bundle must match the referenced version.
using CertLookup = std::function<const proto::CertificateBundle*(const std::string& id)>;

// Variables of one workspace: builtin defaults < template defaults < --set <
// workspace fields (spec.image wins over --set image).
Result<Scope> workspace_scope(const proto::Assignment& a, const Template& t,
                              const std::map<std::string, std::string>& settings,
                              const CertLookup& certs);

// Renders every object; each needs apiVersion, kind and a valid metadata.name
// (metadata.namespace defaults to the `namespace` variable).
Result<std::vector<RenderedObject>> render(const Template& t, const Scope& root);

// Renders a synthetic workspace so a template with an unknown variable or a
// bad shape is rejected at start (exit 2) rather than on the first assignment.
Status validate_template(const Template& t, const std::map<std::string, std::string>& settings);

}  // namespace fc::agent
