#!/usr/bin/env python3
"""WAL frames per commit by b-tree (bench/scheduler/cpu_counts.sh wal).

  wal_frames.py DB

Reads DB-wal as the daemon left it (SIGKILLed: no checkpoint at close): the
frames of the current WAL generation (salts equal to the header's) up to the
last commit frame, grouped into commits; maps each frame's page to its table
or index with SQLite's dbstat on a copy of DB (opening the copy replays the
WAL); prints frames per commit, in total and by b-tree.
"""
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile


def main():
    db = sys.argv[1]
    wal = open(db + "-wal", "rb").read()
    if len(wal) < 32:
        print("empty WAL (checkpointed and reset just before the kill): run again")
        return
    _, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">8I", wal[:32])
    frames = []
    off = 32
    while off + 24 + page_size <= len(wal):
        pgno, commit, s1, s2 = struct.unpack(">4I", wal[off:off + 16])
        if (s1, s2) != (salt1, salt2):
            break
        frames.append((pgno, commit))
        off += 24 + page_size
    commits, cur = [], []
    for pgno, commit in frames:
        cur.append(pgno)
        if commit:
            commits.append(cur)
            cur = []
    if not commits:
        print("no commit in the WAL: run again")
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "copy.db")
        shutil.copy(db, copy)
        shutil.copy(db + "-wal", copy + "-wal")
        c = sqlite3.connect(copy)
        names = dict(c.execute("SELECT pageno, name FROM dbstat"))
        c.close()
    by = collections.Counter(names.get(p, "(free)") for cm in commits for p in cm)
    n = len(commits)
    total = sum(len(cm) for cm in commits)
    print(f"{n} commits in the WAL, {total / n:.1f} frames per commit ({page_size}-byte pages)")
    for name, k in by.most_common():
        print(f"  {k / n:6.2f}  {name}")


if __name__ == "__main__":
    main()
