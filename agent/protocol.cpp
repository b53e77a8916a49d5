#include "agent/protocol.hpp"

#include <utility>

namespace fc::agent::proto {
namespace {

std::string join(const std::string& path, std::string_view field) {
  if (path.empty()) return std::string(field);
  return path + "." + std::string(field);
}

// Prefixes a nested object's error detail with the field path that holds it.
Error nest(const std::string& path, const Error& e) {
  std::string_view d = e.detail;
  if (d.rfind("body:", 0) == 0) return make_error(e.code, path + std::string(d.substr(4)));
  return make_error(e.code, path + "." + std::string(d));
}

Error field_error(const std::string& path, std::string_view message) {
  return make_error(Code::kInvalidArgument,
                    (path.empty() ? "body" : path) + ": " + std::string(message));
}

// Reads typed fields of one JSON object; `path` names it in error details.
class Fields {
 public:
  Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status object() const {
    if (!j_.is_object()) return field_error(path_, "must be an object");
    return ok();
  }
  const json* find(std::string_view name) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  Result<std::string> str(std::string_view name) const {
    const json* v = find(name);
    if (v == nullptr) return field_error(join(path_, name), "missing");
    if (!v->is_string()) return field_error(join(path_, name), "must be a string");
    std::string out = v->get<std::string>();
    // PostgreSQL's text cannot hold U+0000 (a status message was cut at it
    // there, kept whole on SQLite): refused on both backends.
    if (out.find('\0') != std::string::npos)
      return field_error(join(path_, name), "must not contain a NUL character");
    return out;
  }
  Result<std::optional<std::string>> opt_str(std::string_view name) const {
    if (find(name) == nullptr) return std::optional<std::string>{};
    BOOST_OUTCOME_TRY(s, str(name));
    return std::optional<std::string>(std::move(s));
  }
  Result<std::int64_t> count(std::string_view name) const {
    const json* v = find(name);
    if (v == nullptr) return field_error(join(path_, name), "missing");
    if (!v->is_number_integer()) return field_error(join(path_, name), "must be an integer");
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > INT64_MAX) {
      return field_error(join(path_, name), "out of range");
    }
    auto n = v->get<std::int64_t>();
    if (n < 0) return field_error(join(path_, name), "must not be negative");
    return n;
  }
  Result<std::int64_t> opt_count(std::string_view name) const {
    if (find(name) == nullptr) return std::int64_t{0};
    return count(name);
  }
  Result<bool> opt_bool(std::string_view name) const {
    const json* v = find(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return field_error(join(path_, name), "must be a boolean");
    return v->get<bool>();
  }
  // Array of strings; absent → empty unless `required`.
  Result<std::vector<std::string>> strings(std::string_view name, bool required) const {
    std::vector<std::string> out;
    const json* v = find(name);
    if (v == nullptr) {
      if (required) return field_error(join(path_, name), "missing");
      return out;
    }
    if (!v->is_array()) return field_error(join(path_, name), "must be an array");
    for (std::size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      auto p = join(path_, name) + "[" + std::to_string(i) + "]";
      if (!e.is_string()) return field_error(p, "must be a string");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  // Array of objects decoded with decode<T>; errors carry the element path.
  template <class T>
  Result<std::vector<T>> list(std::string_view name, bool required) const {
    std::vector<T> out;
    const json* v = find(name);
    if (v == nullptr) {
      if (required) return field_error(join(path_, name), "missing");
      return out;
    }
    if (!v->is_array()) return field_error(join(path_, name), "must be an array");
    for (std::size_t i = 0; i < v->size(); ++i) {
      auto r = decode<T>((*v)[i]);
      if (!r) {
        auto p = join(path_, name) + "[" + std::to_string(i) + "]";
        return nest(p, r.error());
      }
      out.push_back(std::move(r).value());
    }
    return out;
  }
  const std::string& path() const { return path_; }

 private:
  const json& j_;
  std::string path_;
};

// Nested decode: prefixes an element's error detail with its field name.
template <class T>
Result<T> nested(const Fields& f, std::string_view name, bool required) {
  const json* v = f.find(name);
  if (v == nullptr) {
    if (required) return field_error(join(f.path(), name), "missing");
    return T{};
  }
  auto r = decode<T>(*v);
  if (!r) return nest(join(f.path(), name), r.error());
  return r;
}

}  // namespace

std::string_view to_string(Action a) { return a == Action::kApply ? "apply" : "delete"; }

std::string_view to_string(Phase p) {
  switch (p) {
    case Phase::kProvisioning: return "provisioning";
    case Phase::kRunning: return "running";
    case Phase::kFailed: return "failed";
    case Phase::kDeleted: return "deleted";
    case Phase::kProgressing: return "progressing";
    case Phase::kDegraded: return "degraded";
    case Phase::kSuspended: return "suspended";
  }
  return "failed";
}

Result<Action> parse_action(std::string_view s) {
  if (s == "apply") return Action::kApply;
  if (s == "delete") return Action::kDelete;
  return make_error(Code::kInvalidArgument, "must be apply or delete");
}

Result<Phase> parse_phase(std::string_view s) {
  if (s == "provisioning") return Phase::kProvisioning;
  if (s == "running") return Phase::kRunning;
  if (s == "failed") return Phase::kFailed;
  if (s == "deleted") return Phase::kDeleted;
  if (s == "progressing") return Phase::kProgressing;
  if (s == "degraded") return Phase::kDegraded;
  if (s == "suspended") return Phase::kSuspended;
  return make_error(Code::kInvalidArgument,
                    "must be provisioning, progressing, running, degraded, suspended, failed or "
                    "deleted");
}

void to_json(json& j, const Resources& v) {
  j = json{{"memory_mib", v.memory_mib}, {"cpu_millis", v.cpu_millis}};
}

void to_json(json& j, const Spec& v) {
  j = json::object();
  if (v.image) j["image"] = *v.image;
  j["env"] = v.env;
}

void to_json(json& j, const CertificateRef& v) {
  j = json{{"id", v.id}, {"hostnames", v.hostnames}, {"version", v.version}};
}

void to_json(json& j, const Assignment& v) {
  j = json{{"workspace_id", v.workspace_id}, {"name", v.name},
           {"generation", v.generation},     {"action", to_string(v.action)},
           {"resources", v.resources},       {"spec", v.spec},
           {"hostnames", v.hostnames},       {"certificates", v.certificates}};
  if (v.suspended) j["suspended"] = true;
}

void to_json(json& j, const AssignmentsResponse& v) {
  j = json{{"region", v.region},
           {"revision", v.revision},
           {"complete", v.complete},
           {"assignments", v.assignments}};
}

void to_json(json& j, const Heartbeat& v) {
  j = json{{"agent_id", v.agent_id}};
  if (v.version) j["version"] = *v.version;
}

void to_json(json& j, const WorkspaceStatus& v) {
  j = json{{"workspace_id", v.workspace_id},
           {"generation", v.generation},
           {"phase", to_string(v.phase)},
           {"message", v.message}};
}

void to_json(json& j, const StatusReport& v) { j = json{{"workspaces", v.workspaces}}; }

void to_json(json& j, const CertificateBundle& v) {
  j = json{{"id", v.id},
           {"version", v.version},
           {"hostnames", v.hostnames},
           {"certificate_pem", v.certificate_pem},
           {"private_key_pem", v.private_key_pem},
           {"not_after", v.not_after}};
}

template <>
Result<Resources> decode<Resources>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  Resources r;
  BOOST_OUTCOME_TRY(mem, f.opt_count("memory_mib"));
  BOOST_OUTCOME_TRY(cpu, f.opt_count("cpu_millis"));
  r.memory_mib = mem;
  r.cpu_millis = cpu;
  return r;
}

template <>
Result<Spec> decode<Spec>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  Spec s;
  BOOST_OUTCOME_TRY(image, f.opt_str("image"));
  s.image = std::move(image);
  const json* env = f.find("env");
  if (env == nullptr) return s;
  if (!env->is_object()) return field_error("env", "must be an object");
  for (const auto& [k, v] : env->items()) {
    if (!v.is_string()) return field_error("env." + k, "must be a string");
    s.env[k] = v.get<std::string>();
  }
  return s;
}

template <>
Result<CertificateRef> decode<CertificateRef>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  CertificateRef c;
  BOOST_OUTCOME_TRY(id, f.str("id"));
  BOOST_OUTCOME_TRY(hostnames, f.strings("hostnames", false));
  BOOST_OUTCOME_TRY(version, f.count("version"));
  c.id = std::move(id);
  c.hostnames = std::move(hostnames);
  c.version = version;
  return c;
}

template <>
Result<Assignment> decode<Assignment>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  Assignment a;
  BOOST_OUTCOME_TRY(id, f.str("workspace_id"));
  BOOST_OUTCOME_TRY(generation, f.count("generation"));
  BOOST_OUTCOME_TRY(action_s, f.str("action"));
  auto action = parse_action(action_s);
  if (!action) return field_error("action", action.error().detail);
  BOOST_OUTCOME_TRY(name, f.opt_str("name"));
  if (!name && action.value() == Action::kApply) return field_error("name", "missing");
  BOOST_OUTCOME_TRY(resources, nested<Resources>(f, "resources", false));
  BOOST_OUTCOME_TRY(spec, nested<Spec>(f, "spec", false));
  BOOST_OUTCOME_TRY(hostnames, f.strings("hostnames", false));
  BOOST_OUTCOME_TRY(certs, f.list<CertificateRef>("certificates", false));
  if (const json* sus = f.find("suspended")) {
    if (!sus->is_boolean()) return field_error("suspended", "must be true or false");
    a.suspended = sus->get<bool>();
  }
  a.workspace_id = std::move(id);
  a.name = name.value_or("");
  a.generation = generation;
  a.action = action.value();
  a.resources = resources;
  a.spec = std::move(spec);
  a.hostnames = std::move(hostnames);
  a.certificates = std::move(certs);
  return a;
}

template <>
Result<AssignmentsResponse> decode<AssignmentsResponse>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  AssignmentsResponse r;
  BOOST_OUTCOME_TRY(region, f.str("region"));
  BOOST_OUTCOME_TRY(revision, f.count("revision"));
  BOOST_OUTCOME_TRY(complete, f.opt_bool("complete"));
  BOOST_OUTCOME_TRY(assignments, f.list<Assignment>("assignments", true));
  r.region = std::move(region);
  r.revision = revision;
  r.complete = complete;
  r.assignments = std::move(assignments);
  return r;
}

template <>
Result<Heartbeat> decode<Heartbeat>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  BOOST_OUTCOME_TRY(agent_id, f.str("agent_id"));
  BOOST_OUTCOME_TRY(version, f.opt_str("version"));
  if (agent_id.empty()) return field_error("agent_id", "must not be empty");
  return Heartbeat{std::move(agent_id), std::move(version)};
}

template <>
Result<WorkspaceStatus> decode<WorkspaceStatus>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  WorkspaceStatus s;
  BOOST_OUTCOME_TRY(id, f.str("workspace_id"));
  BOOST_OUTCOME_TRY(generation, f.count("generation"));
  BOOST_OUTCOME_TRY(phase_s, f.str("phase"));
  auto phase = parse_phase(phase_s);
  if (!phase) return field_error("phase", phase.error().detail);
  BOOST_OUTCOME_TRY(message, f.opt_str("message"));
  s.workspace_id = std::move(id);
  s.generation = generation;
  s.phase = phase.value();
  s.message = message.value_or("");
  return s;
}

template <>
Result<StatusReport> decode<StatusReport>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  BOOST_OUTCOME_TRY(items, f.list<WorkspaceStatus>("workspaces", true));
  return StatusReport{std::move(items)};
}

template <>
Result<CertificateBundle> decode<CertificateBundle>(const json& j) {
  Fields f(j, "");
  BOOST_OUTCOME_TRY(f.object());
  CertificateBundle b;
  BOOST_OUTCOME_TRY(id, f.str("id"));
  BOOST_OUTCOME_TRY(version, f.count("version"));
  BOOST_OUTCOME_TRY(hostnames, f.strings("hostnames", true));
  BOOST_OUTCOME_TRY(cert, f.str("certificate_pem"));
  BOOST_OUTCOME_TRY(key, f.str("private_key_pem"));
  BOOST_OUTCOME_TRY(not_after, f.str("not_after"));
  b.id = std::move(id);
  b.version = version;
  b.hostnames = std::move(hostnames);
  b.certificate_pem = std::move(cert);
  b.private_key_pem = std::move(key);
  b.not_after = std::move(not_after);
  return b;
}

}  // namespace fc::agent::proto
