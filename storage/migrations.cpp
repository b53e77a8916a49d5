// Migration runner: migrations/NNNN_name.sql compiled into the binary, applied
// in order, each in its own transaction, recorded with its SHA-256 (of the
// file, whichever backend: the same migration has the same checksum on both).
#include <map>

#include "storage/db.hpp"
#include "storage/postgres/driver.hpp"

namespace fc::storage {
namespace embedded {
extern const std::pair<const char*, const char*> kMigrations[];
extern const std::size_t kMigrations_count;
}  // namespace embedded

namespace {

struct Embedded {
  std::int64_t version;
  std::string name;
  std::string sql;
  std::string checksum;
};

std::vector<Embedded> embedded_migrations() {
  std::vector<Embedded> out;
  for (std::size_t i = 0; i < embedded::kMigrations_count; ++i) {
    std::string file = embedded::kMigrations[i].first;  // "0001_init.sql"
    std::string name = file.substr(0, file.size() - 4);
    out.push_back({std::stoll(file.substr(0, 4)), name, embedded::kMigrations[i].second,
                   sha256_hex(embedded::kMigrations[i].second)});
  }
  return out;
}

// The migrations are written in SQLite's DDL; PostgreSQL gets them through
// postgres::schema_from_sqlite (docs/storage.md "Two backends").
std::string ddl_for(const Conn& c, const std::string& sqlite_sql) {
  return c.dialect() == Dialect::kPostgres ? postgres::schema_from_sqlite(sqlite_sql) : sqlite_sql;
}

Result<std::map<std::int64_t, AppliedMigration>> applied(Conn& c) {
  BOOST_OUTCOME_TRY(
      c.exec(ddl_for(c,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
                     " applied_at INTEGER NOT NULL)")));
  BOOST_OUTCOME_TRY(
      st, c.prepare("SELECT version, name, checksum FROM schema_migrations ORDER BY version"));
  std::map<std::int64_t, AppliedMigration> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    out[st.col_int(0)] = AppliedMigration{st.col_int(0), st.col_text(1), st.col_text(2)};
  }
  return out;
}

// The database must not hold a migration we do not know, nor a changed one.
Status verify(const std::map<std::int64_t, AppliedMigration>& done,
              const std::vector<Embedded>& mine) {
  std::map<std::int64_t, const Embedded*> by_version;
  for (const auto& m : mine) by_version[m.version] = &m;
  for (const auto& [v, a] : done) {
    auto it = by_version.find(v);
    if (it == by_version.end()) {
      return make_error(Code::kConflict,
                        "database has migration " + a.name +
                            " that this binary does not know: it was written by a newer "
                            "fleetcommand; run that version or restore a backup");
    }
    if (it->second->checksum != a.checksum) {
      return make_error(Code::kConflict, "migration " + a.name +
                                             " changed after it was applied (checksum mismatch); "
                                             "migrations are append-only");
    }
  }
  return ok();
}

}  // namespace

Result<std::vector<std::string>> pending_migrations(Conn& c) {
  BOOST_OUTCOME_TRY(done, applied(c));
  auto mine = embedded_migrations();
  BOOST_OUTCOME_TRY(verify(done, mine));
  std::vector<std::string> out;
  for (const auto& m : mine) {
    if (!done.count(m.version)) out.push_back(m.name);
  }
  return out;
}

namespace {

// PostgreSQL: the session advisory lock that makes daemons started at the
// same instant on one database migrate one after the other ("fcmigrat").
constexpr std::int64_t kMigrationLock = 0x66636d6967726174;

Result<std::vector<AppliedMigration>> migrate_locked(Conn& c, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(done, applied(c));
  auto mine = embedded_migrations();
  BOOST_OUTCOME_TRY(verify(done, mine));
  std::vector<AppliedMigration> out;
  for (const auto& m : mine) {
    if (done.count(m.version)) continue;
    Tx tx(c);  // SQLite: BEGIN IMMEDIATE, so one process at a time from here
    BOOST_OUTCOME_TRY(tx.begin_status());
    // Another process may have applied it since `done` was read: skip it then.
    BOOST_OUTCOME_TRY(again, c.prepare("SELECT 1 FROM schema_migrations WHERE version = ?"));
    again.bind_all(m.version);
    BOOST_OUTCOME_TRY(already, again.step());
    if (already) continue;
    auto st = c.exec(ddl_for(c, m.sql));
    if (!st) return make_error(Code::kIo, "migration " + m.name + " failed: " + st.error().detail);
    BOOST_OUTCOME_TRY(ins,
                      c.prepare("INSERT INTO schema_migrations(version, name, checksum, applied_at)"
                                " VALUES(?,?,?,?)"));
    BOOST_OUTCOME_TRY(ins.bind_all(m.version, m.name, m.checksum, now_ms).run());
    BOOST_OUTCOME_TRY(tx.commit());
    out.push_back(AppliedMigration{m.version, m.name, m.checksum});
  }
  return out;
}

}  // namespace

Result<std::vector<AppliedMigration>> migrate(Conn& c, std::int64_t now_ms) {
  if (c.dialect() != Dialect::kPostgres) return migrate_locked(c, now_ms);
  // Held across the migrations' transactions (a session lock): a second
  // daemon waits here, then finds them applied. Released at the end, or by
  // the server when this connection closes (a crash mid-way).
  BOOST_OUTCOME_TRY(c.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")"));
  auto out = migrate_locked(c, now_ms);
  if (auto st = c.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")"); !st)
    return st.error();
  return out;
}

}  // namespace fc::storage
