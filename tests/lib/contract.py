"""Contract checks: every HTTP response an integration test receives through
fctest.Daemon.request is validated against the OpenAPI document
(api/openapi/openapi.yaml, built to $FC_OPENAPI_JSON) with Debian's
python3-jsonschema: the operation is matched by method and path template, then
the status must be documented (or `default`), the content type must be one the
response lists, and a JSON body must validate against its schema.

The document keeps `additionalProperties` open for clients, but the server
must describe every field it emits: responses are validated against a strict
copy in which each object schema that lists `properties` (and says nothing
about `additionalProperties`) admits no other field, and `allOf` compositions
are merged into one object first. FC_CONTRACT_STRICT=0 turns that off.

Enabled when FC_OPENAPI_JSON is set (ctest sets it for every itest). Each
(operationId, status) seen is kept in `SEEN` and appended to
$FC_CONTRACT_LOG_DIR/<pid>.log when that is set."""
import json
import os
import re
import threading

try:
    import jsonschema
except ImportError:  # reported by enabled(): the contract tests need it
    jsonschema = None

METHODS = ("get", "put", "post", "patch", "delete")
SEEN = set()
_lock = threading.Lock()
_doc = None
_routes = None
_validators = {}


class ContractError(AssertionError):
    pass


def enabled():
    if not os.environ.get("FC_OPENAPI_JSON"):
        return False
    if jsonschema is None:
        raise ContractError("FC_OPENAPI_JSON is set but python3-jsonschema is not installed")
    return True


def document():
    global _doc, _routes
    if _doc is None:
        with open(os.environ["FC_OPENAPI_JSON"], encoding="utf-8") as f:
            _doc = json.load(f)
        _routes = []
        for path in _doc["paths"]:
            segs = path.split("/")[1:]
            literal = sum(1 for s in segs if not s.startswith("{"))
            _routes.append((segs, literal, path))
        _routes.sort(key=lambda r: -r[1])  # literal segments win over parameters
    return _doc


def match_path(path):
    """The document's path template for a request path, or None."""
    document()
    segs = path.split("?", 1)[0].split("/")[1:]
    for tmpl, _, key in _routes:
        if len(tmpl) == len(segs) and all(
                (t.startswith("{") and s != "") or t == s for t, s in zip(tmpl, segs)):
            return key
    return None


def resolve(obj):
    doc = document()
    while isinstance(obj, dict) and "$ref" in obj:
        node = doc
        for part in obj["$ref"][2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def merged_all_of(node):
    """One object schema with the properties and required fields of every
    member of node's allOf (members may be $refs or allOfs themselves)."""
    out = {k: v for k, v in node.items() if k != "allOf"}
    out.setdefault("type", "object")
    props, required = dict(out.get("properties", {})), list(out.get("required", []))
    for member in node["allOf"]:
        m = resolve(member)
        if "allOf" in m:
            m = merged_all_of(m)
        props.update(m.get("properties", {}))
        required += [r for r in m.get("required", []) if r not in required]
    out["properties"], out["required"] = props, required
    return out


def strict(node):
    """The strict copy of a schema tree (see the module doc)."""
    if isinstance(node, list):
        return [strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    if "allOf" in node:
        node = merged_all_of(node)
    out = {}
    for k, v in node.items():
        if k in ("example", "examples", "default", "const", "enum"):
            out[k] = v
        elif k == "properties":
            out[k] = {name: strict(p) for name, p in v.items()}
        else:
            out[k] = strict(v)
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def validator(key, schema):
    v = _validators.get(key)
    if v is None:
        components = document()["components"]
        if os.environ.get("FC_CONTRACT_STRICT", "1") != "0":
            schema, components = strict(schema), strict(components)
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "allOf": [schema], "components": components}
        v = jsonschema.Draft202012Validator(root)
        _validators[key] = v
    return v


def operation(method, path):
    """(template, operation object) of a request, or (None, None) when no
    documented path matches (then the router answers 404/405 itself)."""
    tmpl = match_path(path)
    if tmpl is None:
        return None, None
    return tmpl, document()["paths"][tmpl].get(method.lower())


def check_response(method, path, status, content_type, body):
    """Raises ContractError when the response breaks the document; records
    (operationId, status) of a response that keeps it."""
    tmpl, op = operation(method, path)
    if op is None:
        return None
    op_id = op.get("operationId", f"{method} {tmpl}")
    responses = op["responses"]
    resp = responses.get(str(status)) or responses.get("default")
    if resp is None:
        raise ContractError(f"{op_id}: status {status} is not documented for {method} {tmpl} "
                            f"(documented: {sorted(responses)}); body {body[:300]!r}")
    resp = resolve(resp)
    content = resp.get("content")
    if not content:
        if body:
            raise ContractError(f"{op_id} {status}: documented without a body, got {body[:200]!r}")
        record(op_id, status)
        return op_id
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in content:
        raise ContractError(f"{op_id} {status}: content type {content_type!r} is not one of {sorted(content)}")
    schema = content[media].get("schema")
    if schema is None or not media.endswith("json"):
        record(op_id, status)
        return op_id
    try:
        data = json.loads(body)
    except ValueError as e:
        raise ContractError(f"{op_id} {status}: body is not JSON ({e}): {body[:200]!r}")
    errors = sorted(validator((op_id, status, media), schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        lines = [f"  at /{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors[:5]]
        raise ContractError(f"{op_id} {status}: the response breaks the schema:\n" + "\n".join(lines))
    record(op_id, status)
    return op_id


def record(op_id, status):
    with _lock:
        if (op_id, status) in SEEN:
            return
        SEEN.add((op_id, status))
        d = os.environ.get("FC_CONTRACT_LOG_DIR")
        if d:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"{os.getpid()}.log"), "a") as f:
                f.write(f"{op_id} {status}\n")


def operations():
    """Every documented operationId."""
    out = []
    for item in document()["paths"].values():
        for m in METHODS:
            if m in item:
                out.append(item[m]["operationId"])
    return out


def missing_coverage(seen=None):
    """Operations without a seen 2xx/3xx, or without a seen 4xx/5xx."""
    seen = SEEN if seen is None else seen
    ok = {o for o, s in seen if s < 400}
    err = {o for o, s in seen if s >= 400}
    return ([o for o in operations() if o not in ok], [o for o in operations() if o not in err])


def _media_examples():
    """(where, schema, example) of every media-type example in the document."""
    doc = document()
    for path, item in doc["paths"].items():
        for m in METHODS:
            op = item.get(m)
            if not op:
                continue
            bodies = [("request", op.get("requestBody", {}))]
            bodies += [(status, resolve(r)) for status, r in op["responses"].items()]
            for where, b in bodies:
                for mt, media in b.get("content", {}).items():
                    if "example" in media and "schema" in media and mt.endswith("json"):
                        yield f"{op['operationId']} {where} {mt}", media["schema"], media["example"]


def example_errors():
    """Every example in the document (component schemas and media types)
    checked strictly against its schema: a list of error lines."""
    out = []
    items = [(f"schema {n}", {k: v for k, v in s.items() if k != "example"}, s["example"])
             for n, s in document()["components"]["schemas"].items() if "example" in s]
    items += list(_media_examples())
    for where, schema, ex in items:
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "allOf": [strict(schema)], "components": strict(document()["components"])}
        for e in jsonschema.Draft202012Validator(root).iter_errors(ex):
            out.append(f"{where}: at /{'/'.join(map(str, e.path))}: {e.message[:200]}")
    return out


def main(argv):
    """By hand, after a ctest run: which operations the whole suite left
    without a success or an error response.
      FC_OPENAPI_JSON=build/api/openapi/openapi.json python3 tests/lib/contract.py build/contract-log"""
    import glob
    seen = set()
    for path in glob.glob(os.path.join(argv[1], "*.log")):
        with open(path) as f:
            for line in f:
                op, status = line.split()
                seen.add((op, int(status)))
    no_ok, no_err = missing_coverage(seen)
    print(f"{len(seen)} (operation, status) pairs seen; {len(operations())} operations")
    print("without a success:", ", ".join(no_ok) or "none")
    print("without an error:", ", ".join(no_err) or "none")
    return 1 if no_ok or no_err else 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
