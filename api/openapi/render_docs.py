"""Renders an OpenAPI 3.1 document as one static HTML page (GET /v1/docs):
operations grouped by tag, their parameters, request and response schemas,
and examples; a table per component schema. Plain HTML and a little CSS, no
scripts and nothing loaded from elsewhere."""
import html
import json
import re

METHODS = ("get", "put", "post", "patch", "delete")

CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:60rem;margin:0 auto;padding:1rem 2rem 4rem}
nav{background:#1d2330;color:#fff;padding:.6rem 2rem}nav a{color:#cfe0ff;margin-right:1rem}
h1{margin:.6rem 0}h2{border-bottom:2px solid #d8dee8;padding-bottom:.2rem;margin-top:2.5rem}
.op{background:#fff;border:1px solid #d8dee8;border-radius:6px;margin:1rem 0;padding:.2rem 1rem 1rem}
.op h3{font-family:ui-monospace,monospace;font-size:1rem}
.m{display:inline-block;min-width:4.2rem;padding:.05rem .4rem;border-radius:4px;color:#fff;text-align:center}
.get{background:#2f6fd0}.post{background:#25884f}.patch{background:#b8730a}.delete{background:#c0392b}.put{background:#7a4cc2}
table{border-collapse:collapse;width:100%;margin:.4rem 0}td,th{border:1px solid #e2e6ee;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f4f8}code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#f4f6fa;border:1px solid #e2e6ee;padding:.5rem;overflow:auto;max-height:22rem}
.sec{font-size:.85rem;color:#4a5568}.st{font-weight:bold}
"""


def esc(s):
    return html.escape(str(s), quote=True)


def prose(s):
    """Description text: escaped, `code` spans and paragraphs kept."""
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(s))
    return out.replace("\n\n", "</p><p>")


def ref_name(ref):
    return ref.rsplit("/", 1)[-1]


def type_text(s):
    """A short type description of a schema, linking component schemas."""
    if not isinstance(s, dict):
        return ""
    if "$ref" in s:
        n = ref_name(s["$ref"])
        return f'<a href="#schema-{esc(n)}">{esc(n)}</a>'
    if "allOf" in s:
        return " + ".join(type_text(x) for x in s["allOf"])
    t = s.get("type", "any")
    t = " | ".join(t) if isinstance(t, list) else t
    if "array" in t and "items" in s:
        t = t.replace("array", "array of " + type_text(s["items"]))
    if "enum" in s:
        t += " (" + ", ".join(esc(json.dumps(v)) for v in s["enum"]) + ")"
    if "const" in s:
        t += " = " + esc(json.dumps(s["const"]))
    return t


def props_table(s, doc):
    """Rows of the properties of an object schema (following allOf), or ''."""
    rows = []
    parts = s.get("allOf", [s]) if isinstance(s, dict) else []
    for part in parts:
        if "$ref" in part and "allOf" in s:
            rows.append(f'<tr><td colspan="4">all fields of {type_text(part)}</td></tr>')
            continue
        req = set(part.get("required", []))
        for name, p in part.get("properties", {}).items():
            rows.append(f"<tr><td><code>{esc(name)}</code></td><td>{type_text(p)}</td>"
                        f"<td>{'yes' if name in req else ''}</td><td>{prose(p.get('description', ''))}</td></tr>")
    if not rows:
        return ""
    return ("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>"
            + "".join(rows) + "</table>")


def example_block(media):
    ex = media.get("example")
    if ex is None:
        return ""
    return "<pre>" + esc(json.dumps(ex, indent=2) if not isinstance(ex, str) else ex) + "</pre>"


def resolve(obj, doc):
    while isinstance(obj, dict) and "$ref" in obj:
        node = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def body_html(content, doc):
    out = []
    for mt, media in (content or {}).items():
        schema = media.get("schema", {})
        out.append(f"<div><code>{esc(mt)}</code> {type_text(schema)}</div>")
        if "$ref" not in schema:
            out.append(props_table(schema, doc))
        out.append(example_block(media))
    return "".join(out)


def params_html(params, doc):
    if not params:
        return ""
    rows = []
    for p in params:
        p = resolve(p, doc)
        rows.append(f"<tr><td><code>{esc(p['name'])}</code></td><td>{esc(p['in'])}</td>"
                    f"<td>{type_text(p.get('schema', {}))}</td><td>{'yes' if p.get('required') else ''}</td>"
                    f"<td>{prose(p.get('description', ''))}</td></tr>")
    return ("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>required</th>"
            "<th>description</th></tr>" + "".join(rows) + "</table>")


def security_text(op, doc):
    sec = op.get("security", doc.get("security", []))
    names = [" + ".join(s) if s else "none (public)" for s in sec]
    return "Tokens: " + (", ".join(names) if names else "none (public)")


def operation_html(path, method, op, path_params, doc):
    out = [f'<div class="op" id="{esc(op.get("operationId", ""))}">',
           f'<h3><span class="m {method}">{method.upper()}</span> {esc(path)}</h3>',
           f"<p><b>{esc(op.get('summary', ''))}</b></p>",
           f'<p class="sec">{esc(security_text(op, doc))}</p>']
    if op.get("description"):
        out.append("<p>" + prose(op["description"]) + "</p>")
    out.append(params_html(path_params + op.get("parameters", []), doc))
    if "requestBody" in op:
        out.append("<h4>Request body</h4>" + body_html(op["requestBody"].get("content"), doc))
    out.append("<h4>Responses</h4>")
    for status, resp in op.get("responses", {}).items():
        link = ""
        if "$ref" in resp:
            link = f' <a href="#response-{esc(ref_name(resp["$ref"]))}">{esc(ref_name(resp["$ref"]))}</a>'
        r = resolve(resp, doc)
        out.append(f'<div><span class="st">{esc(status)}</span> {prose(r.get("description", ""))}{link}</div>')
        if "$ref" not in resp:
            out.append(body_html(r.get("content"), doc))
    out.append("</div>")
    return "".join(out)


def operations_by_tag(doc):
    groups = {t["name"]: [] for t in doc.get("tags", [])}
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                op = item[method]
                tag = (op.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append((path, method, op, item.get("parameters", [])))
    return groups


def render(doc):
    info = doc.get("info", {})
    tags = {t["name"]: t.get("description", "") for t in doc.get("tags", [])}
    groups = operations_by_tag(doc)
    nav = "".join(f'<a href="#tag-{esc(t)}">{esc(t)}</a>' for t in groups) + '<a href="#schemas">schemas</a>'
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{esc(info.get('title', 'API'))} {esc(info.get('version', ''))}</title>",
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
           f"<style>{CSS}</style></head><body><nav>{nav}</nav><main>",
           f"<h1>{esc(info.get('title', 'API'))} <small>{esc(info.get('version', ''))}</small></h1>",
           "<p>" + prose(info.get("description", "")) + "</p>",
           '<p>The machine-readable document: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1).</p>']
    for tag, ops in groups.items():
        out.append(f'<h2 id="tag-{esc(tag)}">{esc(tag)}</h2><p>{prose(tags.get(tag, ""))}</p>')
        out.extend(operation_html(p, m, op, pp, doc) for p, m, op, pp in ops)
    out.append('<h2 id="responses">Error responses</h2>')
    for name, r in doc.get("components", {}).get("responses", {}).items():
        out.append(f'<div class="op" id="response-{esc(name)}"><h3>{esc(name)}</h3>'
                   f'<p>{prose(r.get("description", ""))}</p>{body_html(r.get("content"), doc)}</div>')
    out.append('<h2 id="schemas">Schemas</h2>')
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        out.append(f'<div class="op" id="schema-{esc(name)}"><h3>{esc(name)}</h3>'
                   f'<p>{type_text(s)} {prose(s.get("description", ""))}</p>{props_table(s, doc)}'
                   f'{example_block(s)}</div>')
    out.append("</main></body></html>\n")
    return "\n".join(out)
