// Where rendered objects go: files under --out (GitOps) or an apply command
// (kubectl). Both are idempotent: applying the same objects twice is a no-op.
// Calls block; the agent runs them off the I/O thread (fc::offload).
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "agent/detail/render.hpp"
#include "common/result.hpp"

namespace fc::agent {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status apply(const std::vector<RenderedObject>& objects) = 0;
  // Removing an object that does not exist succeeds.
  virtual Status remove(const std::vector<ObjectRef>& refs) = 0;
};

// Each object as <root>/<ref.key()>, pretty JSON, written atomically and only
// when its content changed; Secrets get mode 0600.
class DirSink final : public Sink {
 public:
  explicit DirSink(std::filesystem::path root) : root_(std::move(root)) {}
  Status apply(const std::vector<RenderedObject>& objects) override;
  Status remove(const std::vector<ObjectRef>& refs) override;

 private:
  std::filesystem::path root_;
};

// Pipes {"apiVersion":"v1","kind":"List","items":[…]} into `/bin/sh -c CMD`.
// Deletions pipe a List of the objects' apiVersion/kind/metadata.
class CommandSink final : public Sink {
 public:
  CommandSink(std::string apply_cmd, std::string delete_cmd, std::chrono::milliseconds timeout)
      : apply_cmd_(std::move(apply_cmd)), delete_cmd_(std::move(delete_cmd)), timeout_(timeout) {}
  Status apply(const std::vector<RenderedObject>& objects) override;
  Status remove(const std::vector<ObjectRef>& refs) override;

 private:
  std::string apply_cmd_;
  std::string delete_cmd_;
  std::chrono::milliseconds timeout_;
};

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
  bool truncated = false;  // stdout exceeded its cap (the rest was read and dropped)
};

inline constexpr std::size_t kDefaultMaxStdout = std::size_t{1} << 20;

// Runs `/bin/sh -c cmd` with `input` on stdin; kills it after `timeout`
// (Code::kTimeout). Output is capped at 1 MiB per stream; stdout at
// `max_stdout` (a status List of a large region is tens of MB).
Result<CommandResult> run_command(const std::string& cmd, std::string_view input,
                                  std::chrono::milliseconds timeout,
                                  std::size_t max_stdout = kDefaultMaxStdout);

}  // namespace fc::agent
