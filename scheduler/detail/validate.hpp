// Input validation for regions and workspaces (API 422 `errors` array). Each
// function appends one FieldError per problem; an empty list means valid.
// `field` is the JSON path the API reports, e.g. "resources.memory_mib".
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/detail/types.hpp"

namespace fc::scheduler {

struct FieldError {
  std::string field;
  std::string message;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};
using FieldErrors = std::vector<FieldError>;

inline constexpr std::size_t kMaxLabels = 64;
inline constexpr std::size_t kMaxLabelKey = 63;
inline constexpr std::size_t kMaxLabelValue = 63;
inline constexpr std::size_t kMaxPlacementRegions = 100;

// Lower-case DNS label: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?
bool is_dns_label(std::string_view s);
// www api admin app dashboard status mail ns ns1 ns2 ns3 ns4
bool is_reserved_workspace_name(std::string_view s);
// Host name: labels of letters, digits, hyphens (not at either end), each
// 1..63, at least two labels, total <= 253, one optional trailing dot.
bool is_dns_hostname(std::string_view s);

void validate_region_id(std::string_view id, const std::string& field, FieldErrors& out);
void validate_workspace_name(std::string_view name, const std::string& field, FieldErrors& out);
// memory_mib and cpu_millis > 0.
void validate_resources(const Resources& r, const std::string& field, FieldErrors& out);
// memory_mib, cpu_millis and workspaces > 0.
void validate_capacity(const Quantities& c, const std::string& field, FieldErrors& out);
// At most kMaxLabels; keys 1..63 of [A-Za-z0-9._/-]; values 1..63 printable ASCII.
void validate_labels(const Labels& labels, const std::string& field, FieldErrors& out);
void validate_policy(std::string_view policy, const std::string& field, FieldErrors& out);

struct Ingress {
  std::vector<std::string> ipv4;
  std::vector<std::string> ipv6;
  std::optional<std::string> hostname;
};
// Addresses must parse with inet_pton in their family; at least one of
// ipv4, ipv6, hostname must be given.
void validate_ingress(const Ingress& ingress, const std::string& field, FieldErrors& out);

// regions and prefer: region ids, no duplicates; prefer ⊆ regions when regions is set.
void validate_placement(const PlacementConstraints& p, const std::string& field, FieldErrors& out);

// Whole bodies, with the API's field names.
struct RegionSpec {
  std::string id;
  Labels labels;
  Ingress ingress;
  Quantities capacity;
};
FieldErrors validate_region(const RegionSpec& spec);
FieldErrors validate_workspace(std::string_view name, const WorkspaceRequest& req);

}  // namespace fc::scheduler
