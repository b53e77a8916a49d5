#include "agent/detail/state.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace fc::agent {
namespace fs = std::filesystem;
namespace {

constexpr int kFormat = 1;

Error sys_error(const std::string& what, const fs::path& p) {
  return make_error(Code::kIo, what + " " + p.string() + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view data, const fs::path& p) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write", p);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

Status fsync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return sys_error("open", dir);
  if (::fsync(fd.get()) != 0) return sys_error("fsync", dir);
  return ok();
}

json ref_to_json(const ObjectRef& r) {
  return json{{"apiVersion", r.api_version},
              {"kind", r.kind},
              {"namespace", r.name_space},
              {"name", r.name}};
}

Result<ObjectRef> ref_from_json(const json& j) {
  auto s = [&](const char* k) -> std::optional<std::string> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (!j.is_object() || !s("apiVersion") || !s("kind") || !s("namespace") || !s("name")) {
    return make_error(Code::kParse, "bad object reference");
  }
  return ObjectRef{*s("apiVersion"), *s("kind"), *s("namespace"), *s("name")};
}

Result<WorkspaceRecord> record_from_json(const json& j) {
  if (!j.is_object() || !j.contains("assignment") || !j.contains("observed") ||
      !j.contains("objects") || !j["objects"].is_array()) {
    return make_error(Code::kParse, "bad workspace record");
  }
  WorkspaceRecord r;
  BOOST_OUTCOME_TRY(a, proto::decode<proto::Assignment>(j["assignment"]));
  BOOST_OUTCOME_TRY(o, proto::decode<proto::WorkspaceStatus>(j["observed"]));
  r.assignment = std::move(a);
  r.observed = std::move(o);
  for (const auto& e : j["objects"]) {
    BOOST_OUTCOME_TRY(ref, ref_from_json(e));
    r.objects.push_back(std::move(ref));
  }
  // Files written before the observer lack "applied": a running generation
  // had its objects applied.
  auto applied = j.find("applied");
  if (applied != j.end() && applied->is_number_integer()) {
    r.applied_generation = applied->get<std::int64_t>();
  } else if (r.observed.phase == proto::Phase::kRunning) {
    r.applied_generation = r.observed.generation;
  }
  return r;
}

}  // namespace

json state_to_json(const AgentState& s) {
  json ws = json::object();
  for (const auto& [id, r] : s.workspaces) {
    json objs = json::array();
    for (const auto& o : r.objects) objs.push_back(ref_to_json(o));
    ws[id] = json{{"assignment", r.assignment},
                  {"objects", objs},
                  {"observed", r.observed},
                  {"applied", r.applied_generation}};
  }
  return json{
      {"format", kFormat}, {"region", s.region}, {"revision", s.revision}, {"workspaces", ws}};
}

Result<AgentState> state_from_json(const json& j) {
  if (!j.is_object() || j.value("format", 0) != kFormat) {
    return make_error(Code::kParse, "unknown state format");
  }
  if (!j.contains("revision") || !j["revision"].is_number_integer() || !j.contains("workspaces") ||
      !j["workspaces"].is_object()) {
    return make_error(Code::kParse, "state lacks revision or workspaces");
  }
  AgentState s;
  s.region = j.value("region", "");
  s.revision = j["revision"].get<std::int64_t>();
  for (const auto& [id, rec] : j["workspaces"].items()) {
    auto r = record_from_json(rec);
    if (!r) return make_error(Code::kParse, "workspace " + id + ": " + r.error().detail);
    s.workspaces[id] = std::move(r).value();
  }
  return s;
}

Status write_file_atomic(const fs::path& path, std::string_view data, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return make_error(Code::kIo, "mkdir " + path.parent_path().string() + ": " + ec.message());
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) return sys_error("open", tmp);
  auto st = write_all(fd.get(), data, tmp);
  if (st && ::fsync(fd.get()) != 0) st = sys_error("fsync", tmp);
  if (st && ::close(fd.release()) != 0) st = sys_error("close", tmp);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0) st = sys_error("rename", path);
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return fsync_dir(path.parent_path());
}

Result<std::optional<std::string>> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path)) return std::optional<std::string>{};
    return sys_error("open", path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return sys_error("read", path);
  return std::optional<std::string>(ss.str());
}

Status StateStore::init() {
  std::error_code ec;
  fs::create_directories(dir_ / "certs", ec);
  if (ec) return make_error(Code::kIo, "mkdir " + dir_.string() + ": " + ec.message());
  fs::permissions(dir_, fs::perms::owner_all, ec);
  fs::permissions(dir_ / "certs", fs::perms::owner_all, ec);
  return ok();
}

Result<AgentState> StateStore::load() const {
  BOOST_OUTCOME_TRY(text, read_file(state_path()));
  if (!text) return AgentState{};
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return make_error(Code::kParse, "state.json is not valid JSON");
  return state_from_json(j);
}

AgentState StateStore::load_or_fresh(std::string& warning) const {
  auto r = load();
  if (r) return std::move(r).value();
  warning = "state file " + state_path().string() + " unusable (" + r.error().detail +
            "); starting from revision 0";
  return AgentState{};
}

Status StateStore::save(const AgentState& s) const {
  return write_file_atomic(state_path(), state_to_json(s).dump(), 0600);
}

fs::path StateStore::cert_path(const std::string& id) const {
  return dir_ / "certs" / (k8s_name(id) + ".json");
}

std::map<std::string, proto::CertificateBundle> StateStore::load_certs(std::string& warning) const {
  std::map<std::string, proto::CertificateBundle> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / "certs", ec)) {
    if (e.path().extension() != ".json") continue;
    auto text = read_file(e.path());
    if (!text || !text.value()) continue;
    auto b = proto::decode_body<proto::CertificateBundle>(*text.value());
    if (!b) {
      warning += "ignoring unreadable " + e.path().string() + "; ";
      continue;
    }
    out[b.value().id] = std::move(b).value();
  }
  return out;
}

Status StateStore::save_cert(const proto::CertificateBundle& b) const {
  return write_file_atomic(cert_path(b.id), json(b).dump(), 0600);
}

Status StateStore::remove_cert(const std::string& id) const {
  std::error_code ec;
  fs::remove(cert_path(id), ec);
  if (ec) return make_error(Code::kIo, "remove certificate " + id + ": " + ec.message());
  return ok();
}

}  // namespace fc::agent
