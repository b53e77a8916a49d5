// Building DOM without HTML strings: every value from the API becomes a text
// node, so a name or message containing markup shows literally.
"use strict";
window.FC = window.FC || {};
FC.dom = (function () {
  // el("a", {href: "#/x", class: "btn", onclick: fn, "aria-label": "…"}, child…)
  // children: Node, string/number (→ text node), null/false (skipped), arrays.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else if (k === "text") node.textContent = String(v);
      else if (k === "value") node.value = v;
      else if (v === true) node.setAttribute(k, "");
      else node.setAttribute(k, String(v));
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(node, c);
      else if (c instanceof Node) node.appendChild(c);
      else node.appendChild(document.createTextNode(String(c)));
    }
  }
  function clear(node) {
    node.replaceChildren();
    return node;
  }
  function byId(id) {
    return document.getElementById(id);
  }
  // Tells screen-reader users what just happened (the status region).
  function announce(msg) {
    const a = byId("announce");
    a.textContent = "";
    window.setTimeout(() => (a.textContent = msg), 50);
  }
  // RFC 3339 → "2026-12-06 18:40 UTC (3 min ago)"; "—" for null.
  function when(ts) {
    if (!ts) return "—";
    const d = new Date(ts);
    if (isNaN(d)) return String(ts);
    const ago = Math.round((Date.now() - d.getTime()) / 1000);
    let rel = "";
    if (ago >= 0 && ago < 120) rel = ago + " s ago";
    else if (ago >= 120 && ago < 7200) rel = Math.round(ago / 60) + " min ago";
    else if (ago >= 7200 && ago < 172800) rel = Math.round(ago / 3600) + " h ago";
    return d.toISOString().slice(0, 16).replace("T", " ") + " UTC" + (rel ? " (" + rel + ")" : "");
  }
  function table(caption, headers, rows) {
    // The wrapper scrolls a wide table on its own: focusable and named, so
    // keyboard users can scroll it too.
    return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
      el("table", {},
        el("caption", {}, caption),
        el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))
          : el("tr", {}, el("td", { colspan: String(headers.length) }, "Nothing to show.")))));
  }
  // A badge whose text is the status itself (colour is never the only cue).
  function badge(status) {
    const s = String(status === null || status === undefined ? "unknown" : status);
    return el("span", { class: "badge badge-" + s.toLowerCase().replace(/[^a-z_]/g, "") }, s);
  }
  return { el, append, clear, byId, announce, when, table, badge };
})();
