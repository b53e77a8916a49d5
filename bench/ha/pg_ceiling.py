"""PostgreSQL's own ceiling for the rows of a placement (issue #15's peer
figure), measured with PostgreSQL's pgbench on the database a daemon just
used, so the schema, the indexes and the row sizes are the daemon's.

A create writes, per placement: the region's capacity and revision
(`regions`), the workspace, its capacity-ledger row (`placements`), its
assignment, two events (`workspace.created`, `.placed`, each with the
workspace's view) and its open usage interval (`usage_open`). The row sizes
(assignment body, event data) are the averages of the rows the daemon wrote
in the run before. Three shapes of the same rows, each for DURATION seconds:

- `statements, 1 writer`: one connection, 64 placements per transaction,
  one round trip per row: the daemon's group commit today;
- `statements, pipelined`: the same statements sent without waiting for
  each answer (pgbench's `\startpipeline`, libpq's pipeline mode), the
  revision read inside the assignment's INSERT instead of returned first;
- `set-based, 1 writer`: one connection, 64 placements per transaction in
  one statement per table (`INSERT … SELECT … FROM generate_series`): the
  shape a set-based group commit would have.

Each line gives placements/s, PostgreSQL's CPU per placement (the
postmaster and every backend, those that exited included) and pgbench's (the
client side: what the daemon's writer would spend at least). Many clients
with one placement per transaction is not a shape here: every create updates
its region's row, so such transactions queue on that row lock one commit
(one WAL flush) at a time."""
import os
import re
import subprocess
import tempfile

BATCH = 64


def _lengths(psql, db):
    body = psql(db, "SELECT coalesce(round(avg(length(body))), 400) FROM assignments").strip()
    data = psql(db, "SELECT coalesce(round(avg(length(data))), 700) FROM events").strip()
    return int(float(body)), int(float(data))


def _per_placement(tag, i, body, data, pipelined=False):
    """One placement's statements; `tag`/`i` make its ids unique with :n."""
    wid = f"'ws_{tag}' || :n::text || '_{i}'"
    if pipelined:
        rev = "UPDATE regions SET revision = revision + 1, updated_at = 1 WHERE id = 'r1';"
        rev_value = "(SELECT revision FROM regions WHERE id = 'r1')"
    else:
        rev = "UPDATE regions SET revision = revision + 1, updated_at = 1 WHERE id = 'r1' RETURNING revision AS rev \\gset"
        rev_value = ":rev"
    return f"""UPDATE regions SET alloc_memory_mib = alloc_memory_mib + 1, alloc_cpu_millis = alloc_cpu_millis + 1, alloc_workspaces = alloc_workspaces + 1 WHERE id = 'r1';
INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, placement, spec, created_at, updated_at) VALUES ({wid}, {wid}, 'r1', 1, 1, '{{}}', '{{}}', 1, 1);
INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis) VALUES ({wid}, 'r1', 1, 1);
{rev}
INSERT INTO assignments(region, workspace_id, revision, action, body, written_at) VALUES ('r1', {wid}, {rev_value}, 'apply', repeat('b', {body}), 1);
INSERT INTO events(id, type, workspace_id, workspace_seq, subject, data, created_at) VALUES ('evt_c' || {wid}, 'workspace.created', {wid}, 1, {wid}, repeat('d', {data}), 1);
INSERT INTO events(id, type, workspace_id, workspace_seq, subject, data, created_at) VALUES ('evt_p' || {wid}, 'workspace.placed', {wid}, 2, {wid}, repeat('d', {data}), 1);
INSERT INTO usage_open(workspace_id, tenant_id, plan, state, memory_mib, cpu_millis, since_s) VALUES ({wid}, '', '', 'running', 1, 1, 1);
"""


def _set_based(body, data):
    g = f"generate_series(1, {BATCH}) g"
    wid = "'ws_s' || :n::text || '_' || g"
    return f"""\\set n random(1, 1000000000000)
BEGIN;
UPDATE regions SET alloc_memory_mib = alloc_memory_mib + {BATCH}, alloc_cpu_millis = alloc_cpu_millis + {BATCH}, alloc_workspaces = alloc_workspaces + {BATCH}, revision = revision + {BATCH}, updated_at = 1 WHERE id = 'r1' RETURNING revision AS rev \\gset
INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, placement, spec, created_at, updated_at) SELECT {wid}, {wid}, 'r1', 1, 1, '{{}}', '{{}}', 1, 1 FROM {g};
INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis) SELECT {wid}, 'r1', 1, 1 FROM {g};
INSERT INTO assignments(region, workspace_id, revision, action, body, written_at) SELECT 'r1', {wid}, :rev - {BATCH} + g, 'apply', repeat('b', {body}), 1 FROM {g};
INSERT INTO events(id, type, workspace_id, workspace_seq, subject, data, created_at) SELECT 'evt_' || t || {wid}, 'workspace.' || t, {wid}, s, {wid}, repeat('d', {data}), 1 FROM {g}, (VALUES ('created', 1), ('placed', 2)) AS e(t, s) ORDER BY g, s;
INSERT INTO usage_open(workspace_id, tenant_id, plan, state, memory_mib, cpu_millis, since_s) SELECT {wid}, '', '', 'running', 1, 1, 1 FROM {g};
COMMIT;
"""


def scripts(body, data):
    one = "\\set n random(1, 1000000000000)\nBEGIN;\n" + "".join(
        _per_placement("w", i, body, data) for i in range(BATCH)) + "COMMIT;\n"
    piped = "\\set n random(1, 1000000000000)\n\\startpipeline\nBEGIN;\n" + "".join(
        _per_placement("p", i, body, data, True) for i in range(BATCH)) + "COMMIT;\n\\endpipeline\n"
    return [("statements, 1 writer", one, 1, BATCH), ("statements, pipelined", piped, 1, BATCH),
            ("set-based, 1 writer", _set_based(body, data), 1, BATCH)]


def pg_cpu_s(pg_pids):
    """CPU seconds of the cluster: the postmaster, its live children and,
    through the postmaster's cutime/cstime, every child it reaped (pgbench's
    backends exit with their connections)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = pg_pids()
    total = 0.0
    for k, pid in enumerate(pids):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if k == 0:  # the postmaster comes first
            total += int(fields[13]) + int(fields[14])
    return total / tick


def run(pgbench, conn_args, psql, db, duration, pg_pids):
    """Prints one line per shape; returns [(name, placements/s)]."""
    body, data = _lengths(psql, db)
    print(f"raw PostgreSQL ceiling (pgbench -M prepared, {duration} s each; assignment body {body} B, "
          f"event data {data} B, as the daemon wrote them):", flush=True)
    out = []
    with tempfile.TemporaryDirectory(prefix="fc-pgbench-") as tmp:
        for name, text, clients, per_tx in scripts(body, data):
            path = os.path.join(tmp, re.sub(r"\W+", "_", name) + ".sql")
            with open(path, "w") as f:
                f.write(text)
            os.chmod(tmp, 0o755)
            os.chmod(path, 0o644)
            pg0 = pg_cpu_s(pg_pids)
            c0 = os.times()
            r = subprocess.run([pgbench, *conn_args, "-n", "-M", "prepared", "-c", str(clients), "-j", "1",
                                "-T", str(duration), "-f", path, db],
                               capture_output=True, text=True, timeout=duration + 120)
            c1 = os.times()
            if r.returncode != 0:
                print(f"  {name}: pgbench failed: {r.stderr[-600:]}", flush=True)
                continue
            m = re.search(r"number of transactions actually processed: (\d+)", r.stdout)
            tps = re.search(r"tps = ([\d.]+)", r.stdout)
            n = int(m.group(1)) * per_tx
            rate = float(tps.group(1)) * per_tx
            pgcpu = pg_cpu_s(pg_pids) - pg0
            client = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
            print(f"  {name:24s} {rate:9.0f} placements/s  pg_cpu_us/placement={pgcpu / max(n, 1) * 1e6:.0f} "
                  f"pgbench_cpu_us/placement={client / max(n, 1) * 1e6:.1f} load1={os.getloadavg()[0]:.1f}",
                  flush=True)
            out.append((name, rate))
    return out
