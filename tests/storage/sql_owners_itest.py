"""Every table has one owning component (docs/storage.md "Table owners"), and
SQL naming a table appears only in its owner's folder. Scans every .cpp/.hpp
of the source tree outside tests/, bench/ and build directories, groups
adjacent string literals (one C++ string: "SELECT ..." " FROM x"), keeps the
groups that read as SQL (an upper-case SQL keyword), and reports each table
name found in one outside its owner. Also fails when a migration creates a
table the owners table does not list, or the owners table lists one no
migration creates.

Run by hand: FC_SOURCE_DIR=. python3 tests/storage/sql_owners_itest.py
"""
import fnmatch
import os
import re
import sys
import unittest

SOURCE_DIR = os.environ.get("FC_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
OWNERS_DOC = os.path.join("docs", "storage.md")
BEGIN, END = "<!-- sql-owners: begin", "<!-- sql-owners: end"
SKIP_DIRS = {"tests", "bench", "migrations", "docs", "scripts", "cmake"}
SQL_KEYWORD = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|INTO|WHERE|CREATE|ALTER|DROP|REPLACE|EXISTS)\b")
ROW = re.compile(r"^\|\s*`([a-z_0-9]+)`\s*\|\s*([a-z_0-9]+)\s*\|[^|]*\|([^|]*)\|")


def owners():
    """{table: owner component} from the marked table in docs/storage.md."""
    return {t: o for t, (o, _) in owner_rows().items()}


def store_globs():
    """{table: [path globs]} for the tables whose row names its store files."""
    return {t: g for t, (_, g) in owner_rows().items() if g}


def owner_rows():
    """{table: (owner, [store file globs])} from the marked table."""
    with open(os.path.join(SOURCE_DIR, OWNERS_DOC), encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise AssertionError(f"{OWNERS_DOC}: no '{BEGIN}' ... '{END}' block")
    out = {}
    for line in text[start:end].splitlines():
        m = ROW.match(line.strip())
        if m:
            out[m.group(1)] = (m.group(2), re.findall(r"`([^`]+)`", m.group(3)))
    return out


def created_tables():
    """Tables the migrations/*.sql leave, plus the runner's schema_migrations:
    created, less those dropped, renamed ones under their new name (0022's
    rebuild of workspaces), in migration order."""
    tables = {"schema_migrations"}
    mig = os.path.join(SOURCE_DIR, "migrations")
    ddl = re.compile(r"CREATE TABLE\s+(?:IF NOT EXISTS\s+)?(\w+)|DROP TABLE\s+(?:IF EXISTS\s+)?(\w+)"
                     r"|ALTER TABLE\s+(\w+)\s+RENAME TO\s+(\w+)")
    for name in sorted(os.listdir(mig)):
        if name.endswith(".sql"):
            with open(os.path.join(mig, name), encoding="utf-8") as f:
                for created, dropped, old, new in ddl.findall(f.read()):
                    if created:
                        tables.add(created)
                    elif dropped:
                        tables.discard(dropped)
                    else:
                        tables.discard(old)
                        tables.add(new)
    return tables


def string_groups(src):
    """[(line, text)]: each run of adjacent string literals (only whitespace
    or comments between them) joined into one text. Comments, character
    literals and raw strings are handled; escapes are kept as written."""
    groups, i, n, line = [], 0, len(src), 1
    cur, cur_line = None, 0

    def flush():
        nonlocal cur
        if cur is not None:
            groups.append((cur_line, cur))
        cur = None

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += src.count("\n", i, j)
            i = j
            continue
        raw = re.match(r'(?:u8|u|U|L)?R"([^()\\ ]{0,16})\(', src[i:i + 24])
        if raw and i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_"):
            raw = None
        if raw:
            close = ")" + raw.group(1) + '"'
            body_start = i + raw.end()
            j = src.find(close, body_start)
            j = n if j < 0 else j
            text, start_line = src[body_start:j], line
            line += src.count("\n", i, j)
            i = j + len(close)
        elif c == '"' or (c in "uUL" and re.match(r'(?:u8|u|U|L)"', src[i:i + 3])
                          and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_"))):
            j = src.index('"', i) + 1
            start, start_line = j, line
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            text = src[start:j]
            i = j + 1
        elif c == "'" and not (i > 0 and src[i - 1].isalnum()):  # char literal, not 1'000
            j = i + 1
            while j < n and src[j] != "'":
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            flush()
            continue
        else:
            if not c.isspace():
                flush()
            i += 1
            continue
        if cur is not None:
            cur += text
        else:
            cur, cur_line = text, start_line
    flush()
    return groups


def sources():
    for root, dirs, files in os.walk(SOURCE_DIR):
        rel_root = os.path.relpath(root, SOURCE_DIR)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith((".", "build"))]
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".cpp", ".hpp")):
                yield os.path.relpath(os.path.join(root, name), SOURCE_DIR)


def violations(table_owner, globs=None):
    """Tables in SQL outside their owner's folder, or outside the owner's
    store files when its row names them."""
    globs = globs or {}
    names = re.compile(r"\b(" + "|".join(sorted(table_owner, key=len, reverse=True)) + r")\b")
    found = []
    for rel in sources():
        component = rel.split(os.sep)[0]
        with open(os.path.join(SOURCE_DIR, rel), encoding="utf-8", errors="replace") as f:
            src = f.read()
        for line, text in string_groups(src):
            if not SQL_KEYWORD.search(text):
                continue
            for table in sorted(set(names.findall(text))):
                owner = table_owner[table]
                snippet = " ".join(text.split())[:110]
                if owner != component:
                    found.append(f"{rel}:{line}: table '{table}' (owner: {owner}) in SQL "
                                 f"outside {owner}/: \"{snippet}\"")
                elif table in globs and not any(fnmatch.fnmatch(rel, g) for g in globs[table]):
                    found.append(f"{rel}:{line}: table '{table}' in SQL outside its store "
                                 f"files ({', '.join(globs[table])}): \"{snippet}\"")
    return found


class SqlOwners(unittest.TestCase):
    def test_every_table_has_one_owner(self):
        table_owner = owners()
        created = created_tables()
        self.assertEqual(sorted(created - set(table_owner)), [],
                         f"tables created by migrations but missing from {OWNERS_DOC}")
        self.assertEqual(sorted(set(table_owner) - created), [],
                         f"tables in {OWNERS_DOC} that no migration creates")
        folders = {o for o in table_owner.values()}
        missing = sorted(o for o in folders if not os.path.isdir(os.path.join(SOURCE_DIR, o)))
        self.assertEqual(missing, [], "owners that are not a component folder")

    def test_sql_only_in_the_owner(self):
        found = violations(owners(), store_globs())
        for v in found:
            print(v, file=sys.stderr)
        self.assertEqual(len(found), 0,
                         f"{len(found)} use(s) of a table in SQL outside its owner (listed above)")

    def test_scanner_sees_split_and_raw_literals(self):
        src = ('auto s = c.prepare("SELECT a FROM t1 w"\n'
               '  " JOIN t2 r ON r.id = w.x"); // "DELETE FROM t3"\n'
               'auto q = R"sql(UPDATE t4 SET a = 1)sql"; char k = \'"\';\n'
               'rt.add("DELETE", "/v1/t5/{id}");\n')
        groups = string_groups(src)
        self.assertIn((1, "SELECT a FROM t1 w JOIN t2 r ON r.id = w.x"), groups)
        self.assertIn((3, "UPDATE t4 SET a = 1"), groups)
        self.assertNotIn("t3", " ".join(t for _, t in groups))
        self.assertIn((4, "DELETE"), groups)
        self.assertIn((4, "/v1/t5/{id}"), groups)


if __name__ == "__main__":
    unittest.main(verbosity=2)
