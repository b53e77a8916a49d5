// The agent's durable state under --state-dir (docs/agent.md "State dir"):
//   state.json {"format":1,"region","revision",
//               "workspaces":{id:{assignment,objects,observed,applied}}}
//   certs/<id>.json     certificate bundles (mode 0600), cached by id + version
// Every file is written atomically (temp file, fsync, rename, fsync dir).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "agent/detail/render.hpp"
#include "agent/protocol.hpp"
#include "common/result.hpp"

namespace fc::agent {

struct WorkspaceRecord {
  proto::Assignment assignment;     // last assignment seen for the workspace
  std::vector<ObjectRef> objects;   // objects applied for it (what a delete removes)
  proto::WorkspaceStatus observed;  // last phase reached, reported or not
  // The generation whose objects were applied successfully (0: none yet).
  // Equal to assignment.generation: the rollout is observed, not re-applied.
  std::int64_t applied_generation = 0;
  bool operator==(const WorkspaceRecord&) const = default;
};

struct AgentState {
  std::string region;
  std::int64_t revision = 0;
  std::map<std::string, WorkspaceRecord> workspaces;
  bool operator==(const AgentState&) const = default;
};

json state_to_json(const AgentState& s);
Result<AgentState> state_from_json(const json& j);

// temp + fsync + rename + fsync(dir); creates missing parent directories.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                         mode_t mode = 0644);
// nullopt when the file does not exist.
Result<std::optional<std::string>> read_file(const std::filesystem::path& path);

class StateStore {
 public:
  explicit StateStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  Status init();  // creates the directory (0700)
  // Missing file → fresh state. Unreadable or corrupt → an error.
  Result<AgentState> load() const;
  // load(), but a corrupt file yields a fresh state (revision 0, so the next
  // poll lists a complete snapshot) and a warning for the caller to log.
  AgentState load_or_fresh(std::string& warning) const;
  Status save(const AgentState& s) const;

  std::map<std::string, proto::CertificateBundle> load_certs(std::string& warning) const;
  Status save_cert(const proto::CertificateBundle& b) const;
  Status remove_cert(const std::string& id) const;

  std::filesystem::path state_path() const { return dir_ / "state.json"; }

 private:
  std::filesystem::path cert_path(const std::string& id) const;
  std::filesystem::path dir_;
};

}  // namespace fc::agent
