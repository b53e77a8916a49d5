// Online backup, verification and restore (storage/backup.cpp) on real files,
// with the group-commit writer writing during the copy.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/db.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::storage::test::kT0;
using fc::storage::test::scalar;

namespace {

bool has_text(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A migrated database with `rows` rows in a test table.
void make_db(const std::string& path, int rows) {
  auto c = test::open_migrated(path);
  REQUIRE(c->exec("CREATE TABLE bt(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"));
  Tx tx(*c);
  REQUIRE(tx.begin_status());
  for (int i = 0; i < rows; ++i) {
    auto st = c->prepare("INSERT INTO bt(v) VALUES(?)");
    REQUIRE(st);
    REQUIRE(st.value().bind_all(std::string(200, 'x')).run());
  }
  REQUIRE(tx.commit());
}

// Keeps inserting through the group-commit writer until told to stop.
struct BackgroundWriter {
  std::unique_ptr<Database> db;
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread t;
  explicit BackgroundWriter(const std::string& path) {
    auto d = Database::open({path});
    REQUIRE(d);
    db = std::move(d).value();
    t = std::thread([this] {
      while (!stop.load()) {
        auto st = db->write_sync([](Conn& c) -> fc::Status {
          BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO bt(v) VALUES('during')"));
          return s.run();
        });
        if (st) written.fetch_add(1);
      }
    });
  }
  ~BackgroundWriter() {
    stop = true;
    t.join();
    db->close();
  }
};

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("backup under write load: consistent, verified, every earlier row, both methods") {
    for (auto method : {BackupMethod::kBackupApi, BackupMethod::kVacuumInto}) {
      CAPTURE(static_cast<int>(method));
      test::TempDir dir;
      make_db(dir.file("live.db"), 2000);
      BackgroundWriter w(dir.file("live.db"));
      while (w.written.load() < 20) std::this_thread::yield();
      BackupOptions o;
      o.method = method;
      o.pages_per_step = 4;  // stepped: concurrent writes restart it, then one step
      auto info = backup_database(dir.file("live.db"), dir.file("b.db"), o);
      REQUIRE_MESSAGE(info, info.error().detail);
      CHECK(info.value().bytes > 0);
      CHECK(info.value().migration_level > 0);
      // stepped copies restart on every commit of the writer between steps
      if (method == BackupMethod::kBackupApi) CHECK(info.value().restarts > 0);
      CHECK_FALSE(info.value().migration_name.empty());
      CHECK_FALSE(std::filesystem::exists(dir.file("b.db-wal")));  // self-contained
      auto v = verify_backup(dir.file("b.db"));
      REQUIRE_MESSAGE(v, v.error().detail);
      auto c = Conn::open(dir.file("b.db"), OpenMode::kReadOnly);
      REQUIRE(c);
      CHECK(scalar(*c.value(), "SELECT count(*) FROM bt") >= 2000 + 20);
    }
  }

  TEST_CASE("backup refuses what is not a fleetcommand database and leaves no file") {
    test::TempDir dir;
    {
      auto c = Conn::open(dir.file("other.db"), OpenMode::kReadWrite);
      REQUIRE(c);
      REQUIRE(c.value()->exec("CREATE TABLE x(a)"));
    }
    std::ofstream(dir.file("text.db")) << "just some text, not SQLite at all\n";
    for (const char* src : {"other.db", "text.db", "missing.db"}) {
      CAPTURE(src);
      auto r = backup_database(dir.file(src), dir.file("out.db"));
      REQUIRE_FALSE(r);
      CHECK_FALSE(std::filesystem::exists(dir.file("out.db")));
    }
    auto r = backup_database(dir.file("other.db"), dir.file("out.db"));
    CHECK(has_text(r.error().detail, "not a fleetcommand database"));
    CHECK_FALSE(std::filesystem::exists(dir.file("missing.db")));  // never created
  }

  TEST_CASE("verify refuses a truncated backup and one from a newer fleetcommand") {
    test::TempDir dir;
    make_db(dir.file("live.db"), 3000);
    REQUIRE(backup_database(dir.file("live.db"), dir.file("b.db")));
    const auto size = std::filesystem::file_size(dir.file("b.db"));
    std::filesystem::copy_file(dir.file("b.db"), dir.file("cut.db"));
    std::filesystem::resize_file(dir.file("cut.db"), size / 2);
    auto cut = verify_backup(dir.file("cut.db"));
    REQUIRE_FALSE(cut);
    MESSAGE(cut.error().detail);
    {
      auto c = Conn::open(dir.file("b.db"), OpenMode::kReadWrite);
      REQUIRE(c);
      REQUIRE(
          c.value()->exec("INSERT INTO schema_migrations VALUES(9999, '9999_future', 'abc', 0)"));
    }
    auto newer = verify_backup(dir.file("b.db"));
    REQUIRE_FALSE(newer);
    CHECK(has_text(newer.error().detail, "9999_future"));
    CHECK(has_text(newer.error().detail, "newer"));
  }

  TEST_CASE("restore: into an empty place only, never over a database with content") {
    test::TempDir dir;
    make_db(dir.file("live.db"), 100);
    REQUIRE(backup_database(dir.file("live.db"), dir.file("b.db")));
    auto refused = restore_database(dir.file("b.db"), dir.file("live.db"));
    REQUIRE_FALSE(refused);
    CHECK(has_text(refused.error().detail, "not empty"));
    auto r = restore_database(dir.file("b.db"), dir.file("state/fleetcommand.db"));
    REQUIRE_MESSAGE(r, r.error().detail);
    auto c = test::open_migrated(dir.file("state/fleetcommand.db"));
    CHECK(scalar(*c, "SELECT count(*) FROM bt") == 100);
    CHECK_FALSE(restore_database(dir.file("b.db"), dir.file("state/fleetcommand.db")));
    CHECK_FALSE(restore_database(dir.file("nope.db"), dir.file("state2/fleetcommand.db")));
  }
}
