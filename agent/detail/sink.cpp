#include "agent/detail/sink.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/detail/state.hpp"

extern char** environ;

namespace fc::agent {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMaxOutput = 1 << 20;

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

Result<pid_t> spawn_shell(const std::string& cmd, Pipe& in, Pipe& out, Pipe& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return make_error(Code::kIo, std::string("spawn /bin/sh: ") + std::strerror(rc));
  return pid;
}

// Feeds stdin and drains stdout/stderr until both close or the deadline.
bool pump(Pipe& in, Pipe& out, Pipe& err, std::string_view input, CommandResult& res,
          std::chrono::steady_clock::time_point deadline, std::size_t max_stdout) {
  std::size_t written = 0;
  if (input.empty()) in.close_end(1);
  char buf[8192];
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p[3] = {{in.fd[1], POLLOUT, 0}, {out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
    int n = ::poll(p, 3, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (p[0].revents != 0) {
      ssize_t w = ::write(in.fd[1], input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      bool again = w < 0 && (errno == EAGAIN || errno == EINTR);
      if ((w < 0 && !again) || written == input.size()) in.close_end(1);
    }
    for (int i = 1; i <= 2; ++i) {
      if (p[i].revents == 0) continue;
      Pipe& pp = i == 1 ? out : err;
      std::string& dst = i == 1 ? res.out : res.err;
      ssize_t r = ::read(pp.fd[0], buf, sizeof buf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        pp.close_end(0);
        continue;
      }
      std::size_t cap = i == 1 ? max_stdout : kMaxOutput;
      if (dst.size() + static_cast<std::size_t>(r) <= cap) {
        dst.append(buf, static_cast<std::size_t>(r));
      } else {
        res.truncated = res.truncated || i == 1;
      }
    }
  }
  return true;
}

std::string tail(const std::string& s, std::size_t n) {
  std::string t = s.size() > n ? s.substr(s.size() - n) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

Status run_list(const std::string& cmd, const json& items, std::chrono::milliseconds timeout) {
  json list{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
  BOOST_OUTCOME_TRY(res, run_command(cmd, list.dump(), timeout));
  if (res.exit_code == 0) return ok();
  return make_error(Code::kUnavailable, "command exited " + std::to_string(res.exit_code) + ": " +
                                            tail(res.err.empty() ? res.out : res.err, 400));
}

}  // namespace

Result<CommandResult> run_command(const std::string& cmd, std::string_view input,
                                  std::chrono::milliseconds timeout, std::size_t max_stdout) {
  std::signal(SIGPIPE, SIG_IGN);  // a command that exits early must not kill us
  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 ||
      ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return make_error(Code::kIo, std::string("pipe: ") + std::strerror(errno));
  }
  BOOST_OUTCOME_TRY(pid, spawn_shell(cmd, in, out, err));
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  // Non-blocking: a blocking write larger than the free pipe space would wait
  // for the child, which may itself wait for us to drain its output.
  for (int fd : {in.fd[1], out.fd[0], err.fd[0]}) ::fcntl(fd, F_SETFL, O_NONBLOCK);
  CommandResult res;
  bool done =
      pump(in, out, err, input, res, std::chrono::steady_clock::now() + timeout, max_stdout);
  if (!done) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!done) return make_error(Code::kTimeout, "command timed out: " + cmd);
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

Status DirSink::apply(const std::vector<RenderedObject>& objects) {
  for (const auto& o : objects) {
    fs::path p = root_ / o.ref.key();
    std::string content = o.body.dump(2) + "\n";
    auto existing = read_file(p);
    if (existing && existing.value() && *existing.value() == content) continue;
    mode_t mode = o.ref.kind == "Secret" ? 0600 : 0644;
    BOOST_OUTCOME_TRY(write_file_atomic(p, content, mode));
  }
  return ok();
}

Status DirSink::remove(const std::vector<ObjectRef>& refs) {
  for (const auto& r : refs) {
    std::error_code ec;
    fs::remove(root_ / r.key(), ec);
    if (ec) return make_error(Code::kIo, "remove " + r.key() + ": " + ec.message());
  }
  return ok();
}

Status CommandSink::apply(const std::vector<RenderedObject>& objects) {
  if (objects.empty()) return ok();
  json items = json::array();
  for (const auto& o : objects) items.push_back(o.body);
  return run_list(apply_cmd_, items, timeout_);
}

Status CommandSink::remove(const std::vector<ObjectRef>& refs) {
  if (refs.empty()) return ok();
  json items = json::array();
  for (const auto& r : refs) {
    items.push_back(json{{"apiVersion", r.api_version},
                         {"kind", r.kind},
                         {"metadata", {{"name", r.name}, {"namespace", r.name_space}}}});
  }
  return run_list(delete_cmd_, items, timeout_);
}

}  // namespace fc::agent
