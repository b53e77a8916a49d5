#include "scheduler/detail/validate.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <set>

namespace fc::scheduler {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

void add(FieldErrors& out, const std::string& field, std::string message) {
  out.push_back(FieldError{field, std::move(message)});
}

std::string at(const std::string& field, std::size_t i) {
  return field + "[" + std::to_string(i) + "]";
}

// Strict inet_pton: the whole string must be the address (no NUL inside).
bool parses_as(int family, const std::string& s) {
  if (s.find('\0') != std::string::npos) return false;
  std::array<unsigned char, 16> buf{};
  return ::inet_pton(family, s.c_str(), buf.data()) == 1;
}

bool is_host_label(std::string_view l) {
  if (l.empty() || l.size() > 63) return false;
  if (l.front() == '-' || l.back() == '-') return false;
  return std::all_of(l.begin(), l.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

}  // namespace

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_reserved_workspace_name(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kReserved = {
      "www",  "api", "admin", "app", "dashboard", "status",
      "mail", "ns",  "ns1",   "ns2", "ns3",       "ns4"};
  return std::find(kReserved.begin(), kReserved.end(), s) != kReserved.end();
}

bool is_dns_hostname(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  std::size_t labels = 0;
  while (true) {
    const std::size_t dot = s.find('.');
    if (!is_host_label(s.substr(0, dot))) return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
  }
  return labels >= 2;
}

void validate_region_id(std::string_view id, const std::string& field, FieldErrors& out) {
  if (!is_dns_label(id)) {
    add(out, field, "must be a lower-case DNS label: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  }
}

void validate_workspace_name(std::string_view name, const std::string& field, FieldErrors& out) {
  if (!is_dns_label(name)) {
    add(out, field, "must be a lower-case DNS label: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    return;
  }
  if (is_reserved_workspace_name(name)) add(out, field, "is reserved: " + std::string(name));
}

void validate_resources(const Resources& r, const std::string& field, FieldErrors& out) {
  if (r.memory_mib <= 0) add(out, field + ".memory_mib", "must be a positive integer");
  if (r.cpu_millis <= 0) add(out, field + ".cpu_millis", "must be a positive integer");
}

void validate_capacity(const Quantities& c, const std::string& field, FieldErrors& out) {
  if (c.memory_mib <= 0) add(out, field + ".memory_mib", "must be a positive integer");
  if (c.cpu_millis <= 0) add(out, field + ".cpu_millis", "must be a positive integer");
  if (c.workspaces <= 0) add(out, field + ".workspaces", "must be a positive integer");
}

namespace {

bool is_label_key(std::string_view k) {
  if (k.empty() || k.size() > kMaxLabelKey) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '/' || c == '-';
  });
}

bool is_label_value(std::string_view v) {
  if (v.empty() || v.size() > kMaxLabelValue) return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

void validate_labels(const Labels& labels, const std::string& field, FieldErrors& out) {
  if (labels.size() > kMaxLabels) {
    add(out, field, "at most " + std::to_string(kMaxLabels) + " labels");
    return;
  }
  for (const auto& [key, value] : labels) {
    if (!is_label_key(key)) {
      add(out, field, "key must be 1-63 characters of letters, digits, '.', '_', '/', '-'");
      continue;
    }
    if (!is_label_value(value)) {
      add(out, field + "." + key, "must be 1-63 printable ASCII characters");
    }
  }
}

void validate_policy(std::string_view policy, const std::string& field, FieldErrors& out) {
  if (!parse_policy(policy)) add(out, field, "must be \"spread\" or \"binpack\"");
}

void validate_ingress(const Ingress& ingress, const std::string& field, FieldErrors& out) {
  for (std::size_t i = 0; i < ingress.ipv4.size(); ++i) {
    if (!parses_as(AF_INET, ingress.ipv4[i])) {
      add(out, at(field + ".ipv4", i), "not an IPv4 address");
    }
  }
  for (std::size_t i = 0; i < ingress.ipv6.size(); ++i) {
    if (!parses_as(AF_INET6, ingress.ipv6[i])) {
      add(out, at(field + ".ipv6", i), "not an IPv6 address");
    }
  }
  if (ingress.hostname && !is_dns_hostname(*ingress.hostname)) {
    add(out, field + ".hostname", "not a valid DNS host name");
  }
  if (ingress.ipv4.empty() && ingress.ipv6.empty() && !ingress.hostname) {
    add(out, field, "needs at least one of ipv4, ipv6, hostname");
  }
}

namespace {

void validate_region_list(const std::vector<std::string>& ids, const std::string& field,
                          FieldErrors& out) {
  if (ids.size() > kMaxPlacementRegions) {
    add(out, field, "at most " + std::to_string(kMaxPlacementRegions) + " regions");
    return;
  }
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    validate_region_id(ids[i], at(field, i), out);
    if (!seen.insert(ids[i]).second) add(out, at(field, i), "duplicate region " + ids[i]);
  }
}

}  // namespace

void validate_placement(const PlacementConstraints& p, const std::string& field, FieldErrors& out) {
  validate_region_list(p.regions, field + ".regions", out);
  validate_labels(p.labels, field + ".labels", out);
  validate_region_list(p.prefer, field + ".prefer", out);
  if (p.regions.empty()) return;
  for (std::size_t i = 0; i < p.prefer.size(); ++i) {
    if (std::find(p.regions.begin(), p.regions.end(), p.prefer[i]) == p.regions.end()) {
      add(out, at(field + ".prefer", i), "not in " + field + ".regions");
    }
  }
}

FieldErrors validate_region(const RegionSpec& spec) {
  FieldErrors out;
  validate_region_id(spec.id, "id", out);
  validate_labels(spec.labels, "labels", out);
  validate_ingress(spec.ingress, "ingress", out);
  validate_capacity(spec.capacity, "capacity", out);
  return out;
}

FieldErrors validate_workspace(std::string_view name, const WorkspaceRequest& req) {
  FieldErrors out;
  validate_workspace_name(name, "name", out);
  validate_resources(req.resources, "resources", out);
  validate_placement(req.placement, "placement", out);
  return out;
}

}  // namespace fc::scheduler
