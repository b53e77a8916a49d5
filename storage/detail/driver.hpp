// The driver side of storage::Stmt: what each backend (storage/sqlite/,
// storage/postgres/) implements, the shape of PowerDNS's SSqlStatement
// (pdns/backends/gsql/ssql.hh). The connection side is storage::Conn itself
// (an abstract class in storage/db.hpp). One virtual call per bind, step and
// column; no allocation per step.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace fc::storage::detail {

class StmtDriver {
 public:
  virtual ~StmtDriver() = default;
  // Bind indexes start at 1 (placeholders `?` in SQL text, in order).
  virtual void bind_int(int i, std::int64_t v) = 0;
  virtual void bind_text(int i, std::string_view v) = 0;
  virtual void bind_double(int i, double v) = 0;
  virtual void bind_null(int i) = 0;
  // Executes on the first call after binding; true while a row is available.
  virtual Result<bool> step() = 0;
  // Runs to completion, the rows (if any) discarded (Stmt::run). A driver
  // may send it without waiting for its answer (PostgreSQL's pipeline,
  // Conn::set_pipelined); its error then surfaces at the next statement that
  // waits, or at Conn::sync / commit.
  virtual Status run() {
    for (;;) {
      BOOST_OUTCOME_TRY(row, step());
      if (!row) {
        reset();
        return ok();
      }
    }
  }
  // Ready to run again (after the last row); the bindings may be kept.
  virtual void reset() = 0;
  // The borrowing Stmt is gone: reset and clear the bindings (a cached
  // statement), or delete itself (a statement owned by that one Stmt).
  virtual void release(bool owned) = 0;
  // Columns of the current row, 0-based.
  virtual std::int64_t col_int(int c) const = 0;
  virtual double col_double(int c) const = 0;
  virtual std::string col_text(int c) const = 0;
  virtual bool col_null(int c) const = 0;
};

}  // namespace fc::storage::detail
