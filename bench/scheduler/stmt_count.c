// Statement counter (LD_PRELOAD) for bench/scheduler/stmt_count.sh: counts the
// SQL statements a process executes, per statement text, on SQLite (each
// sqlite3_step that starts an execution) and on PostgreSQL (PQexec,
// PQexecPrepared: one round trip each; PQsendQueryPrepared/PQsendQueryParams:
// statements of a pipeline, counted as statements, and each PQpipelineSync as
// "(pipeline sync)", the one round trip of what was sent before it); the
// round trips (PQexec, PQexecPrepared, PQprepare, PQpipelineSync) also as
// "(round trips)". Written to $FC_STMT_COUNT_OUT at exit.
//   cc -shared -fPIC -O2 -o stmt_count.so stmt_count.c -ldl -lpthread
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlite3_stmt sqlite3_stmt;
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

#define SLOTS 4096
static struct {
  char* sql;
  unsigned long n;
} tab[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  PGconn* conn;  // names are per connection (the driver numbers them fc_1, fc_2, ...)
  char* name;
  char* sql;
} pg_names[SLOTS];  // prepared statement -> its SQL
static int pg_n;
static unsigned long round_trips;
static void round_trip(void) { __atomic_add_fetch(&round_trips, 1, __ATOMIC_RELAXED); }

static void count(const char* sql) {
  if (!sql) sql = "(null)";
  unsigned long h = 5381;
  for (const char* p = sql; *p; ++p) h = h * 33 + (unsigned char)*p;
  pthread_mutex_lock(&mu);
  for (unsigned long i = 0; i < SLOTS; ++i) {
    unsigned long k = (h + i) % SLOTS;
    if (!tab[k].sql) {
      tab[k].sql = strdup(sql);
      tab[k].n = 1;
      break;
    }
    if (strcmp(tab[k].sql, sql) == 0) {
      tab[k].n++;
      break;
    }
  }
  pthread_mutex_unlock(&mu);
}

__attribute__((destructor)) static void dump(void) {
  const char* out = getenv("FC_STMT_COUNT_OUT");
  if (!out) return;
  FILE* f = fopen(out, "w");
  if (!f) return;
  for (int k = 0; k < SLOTS; ++k)
    if (tab[k].sql) {
      fprintf(f, "%lu\t", tab[k].n);
      for (const char* p = tab[k].sql; *p; ++p) fputc(*p == '\n' || *p == '\t' ? ' ' : *p, f);
      fputc('\n', f);
    }
  if (round_trips) fprintf(f, "%lu\t(round trips)\n", round_trips);
  fclose(f);
}

int sqlite3_step(sqlite3_stmt* s) {
  static int (*real)(sqlite3_stmt*);
  static int (*busy)(sqlite3_stmt*);
  static const char* (*sql)(sqlite3_stmt*);
  if (!real) {
    real = dlsym(RTLD_NEXT, "sqlite3_step");
    busy = dlsym(RTLD_NEXT, "sqlite3_stmt_busy");
    sql = dlsym(RTLD_NEXT, "sqlite3_sql");
  }
  if (!busy(s)) count(sql(s));
  return real(s);
}

PGresult* PQexec(PGconn* c, const char* q) {
  static PGresult* (*real)(PGconn*, const char*);
  if (!real) real = dlsym(RTLD_NEXT, "PQexec");
  round_trip();
  count(q);
  return real(c, q);
}

PGresult* PQprepare(PGconn* c, const char* name, const char* q, int n, const void* types) {
  static PGresult* (*real)(PGconn*, const char*, const char*, int, const void*);
  if (!real) real = dlsym(RTLD_NEXT, "PQprepare");
  pthread_mutex_lock(&mu);
  if (pg_n < SLOTS) {
    pg_names[pg_n].conn = c;
    pg_names[pg_n].name = strdup(name);
    pg_names[pg_n].sql = strdup(q);
    pg_n++;
  }
  pthread_mutex_unlock(&mu);
  round_trip();
  count("(PQprepare)");
  return real(c, name, q, n, types);
}

static void count_prepared(PGconn* c, const char* name) {
  const char* q = name;
  pthread_mutex_lock(&mu);
  for (int i = pg_n - 1; i >= 0; --i)
    if (pg_names[i].conn == c && strcmp(pg_names[i].name, name) == 0) {
      q = pg_names[i].sql;
      break;
    }
  pthread_mutex_unlock(&mu);
  count(q);
}

PGresult* PQexecPrepared(PGconn* c, const char* name, int n, const char* const* v, const int* l,
                         const int* f, int rf) {
  static PGresult* (*real)(PGconn*, const char*, int, const char* const*, const int*, const int*,
                           int);
  if (!real) real = dlsym(RTLD_NEXT, "PQexecPrepared");
  round_trip();
  count_prepared(c, name);
  return real(c, name, n, v, l, f, rf);
}

int PQsendQueryPrepared(PGconn* c, const char* name, int n, const char* const* v, const int* l,
                        const int* f, int rf) {
  static int (*real)(PGconn*, const char*, int, const char* const*, const int*, const int*, int);
  if (!real) real = dlsym(RTLD_NEXT, "PQsendQueryPrepared");
  count_prepared(c, name);
  return real(c, name, n, v, l, f, rf);
}

int PQsendQueryParams(PGconn* c, const char* q, int n, const void* types, const char* const* v,
                      const int* l, const int* f, int rf) {
  static int (*real)(PGconn*, const char*, int, const void*, const char* const*, const int*,
                     const int*, int);
  if (!real) real = dlsym(RTLD_NEXT, "PQsendQueryParams");
  count(q);
  return real(c, q, n, types, v, l, f, rf);
}

int PQpipelineSync(PGconn* c) {
  static int (*real)(PGconn*);
  if (!real) real = dlsym(RTLD_NEXT, "PQpipelineSync");
  round_trip();
  count("(pipeline sync)");
  return real(c);
}
