// The operator's pages (admin token): regions with capacity, agents and the
// cordon/drain actions, workspaces searched and paged on the server, domains
// by status with the failing step, and certificates by expiry. Every change
// asks for confirmation first.
"use strict";
window.FC = window.FC || {};
FC.operator = (function () {
  const { el, clear, when, badge, announce } = FC.dom;
  const seg = FC.api.seg;
  const RESOURCES = [["memory_mib", "Memory", "MiB"], ["cpu_millis", "CPU", "millicores"],
    ["workspaces", "Workspaces", ""]];

  function meter(r, key, label, unit) {
    const used = (r.allocated || {})[key] || 0;
    const total = (r.capacity || {})[key] || 0;
    const id = "cap-" + r.id + "-" + key;
    return el("div", { class: "meter-row" },
      el("label", { for: id }, label),
      el("meter", { id, min: "0", max: String(Math.max(total, 1)), value: String(used),
        high: String(total * 0.85), optimum: "0" }, used + " / " + total),
      el("span", { class: "meter-text" }, used + " / " + total + (unit ? " " + unit : "")));
  }

  async function setState(r, state, verb) {
    const texts = {
      cordoned: "No new workspace is placed in " + r.id + "; the ones there stay.",
      draining: "Every workspace in " + r.id + " is moved to other regions as capacity allows.",
      active: r.id + " takes new workspaces again.",
    };
    const ok = await FC.modal.confirm(verb + " region " + r.id + "?", texts[state], verb);
    if (!ok) return;
    const res = await FC.api.request("PATCH", "/v1/regions/" + seg(r.id), { state });
    announce(res.ok ? "Region " + r.id + " is now " + state + "." : verb + " failed: " + FC.api.problemText(res));
    FC.app.route();
  }

  // The region's agents as the daemon heard them since it started.
  function agentsTable(r) {
    const agents = r.agents || [];
    if (!agents.length) return el("p", { class: "muted agents-none" }, "No agent heard since the daemon started.");
    return FC.dom.table("Agents of " + r.id, ["Agent", "Version", "State", "Last heartbeat"],
      agents.map((a) => [el("code", {}, a.agent_id), a.version || "—", badge(a.state || "unknown"),
        when(a.last_heartbeat_at)]));
  }

  function regionCard(r) {
    const actions = [];
    if (r.state !== "cordoned") actions.push(["cordoned", "Cordon"]);
    if (r.state !== "draining") actions.push(["draining", "Drain"]);
    if (r.state !== "active") actions.push(["active", "Activate"]);
    return el("article", { class: "card region", "aria-labelledby": "region-" + r.id, "data-region": r.id },
      el("h2", { id: "region-" + r.id }, r.name || r.id, " ", el("span", { class: "muted" }, "(" + r.id + ")")),
      el("p", {}, "State ", badge(r.state), " · health ", badge(r.health), " · last heartbeat ",
        when(r.last_heartbeat_at)),
      Object.keys(r.labels || {}).length ? el("p", { class: "labels" }, "Labels: ",
        Object.entries(r.labels).map(([k, v], i) => [i ? ", " : "", el("code", {}, k + "=" + v)])) : null,
      RESOURCES.map(([k, label, unit]) => meter(r, k, label, unit)),
      agentsTable(r),
      el("div", { class: "actions" }, actions.map(([state, verb]) => el("button", { type: "button",
        class: state === "active" ? "" : "danger", "aria-label": verb + " region " + r.id,
        onclick: () => setState(r, state, verb) }, verb))));
  }

  async function regionsPage(ctx) {
    const res = await FC.api.request("GET", "/v1/regions");
    if (!FC.app.alive(ctx.g)) return;
    ctx.view.appendChild(el("h1", {}, "Regions"));
    if (!res.ok) return ctx.view.appendChild(el("p", { class: "error", role: "alert" }, FC.api.problemText(res)));
    const regions = res.data.items || [];
    const chart = el("figure", { class: "chart" },
      el("figcaption", {}, "Capacity allocated per region (% of total)"));
    ctx.view.append(chart, el("div", { class: "cards" }, regions.map(regionCard)));
    if (regions.length) FC.charts.capacity(chart, regions);
    const history = await FC.api.request("GET", "/v1/metrics/history");
    if (history.ok && FC.app.alive(ctx.g)) {
      const fig = el("figure", { class: "chart" }, el("figcaption", {}, "Placements per minute, last hour"));
      chart.after(fig);
      FC.charts.placements(fig, history.data.points || []);
    }
    const events = await FC.api.has("/v1/events?latest=true&limit=20");
    if (events && events.ok && FC.app.alive(ctx.g)) ctx.view.appendChild(eventsSection(events.data.items || []));
  }

  // An event's data (GET /v1/events) as "key=value" pairs of its plain values.
  function eventDetails(data) {
    const parts = Object.entries(data || {}).filter(([, v]) => v === null || typeof v !== "object")
      .map(([k, v]) => k + "=" + (v === null ? "null" : String(v)));
    const s = parts.join(", ");
    return s.length > 160 ? s.slice(0, 157) + "…" : s || "—";
  }

  function eventsSection(items) {
    const newest = items.slice().reverse();
    return el("section", { "aria-labelledby": "events-title" }, el("h2", { id: "events-title" }, "Recent events"),
      FC.dom.table("The latest events, newest first", ["When", "Type", "Subject", "Workspace", "Details"],
        newest.map((e) => [when(e.time), el("code", {}, e.type), e.subject || "—", e.workspace_id || "—",
          eventDetails(e.data)])));
  }

  // -- domains by status, with the failing step (GET /v1/domains) -----------
  const DOMAIN_STATUSES = ["failed", "moved", "pending_verification", "issuing", "active"];

  function domainsHref(status, q, cursor) {
    const p = new URLSearchParams();
    if (status) p.set("status", status);
    if (q) p.set("q", q);
    if (cursor) p.set("cursor", cursor);
    const s = p.toString();
    return "#/domains" + (s ? "?" + s : "");
  }

  async function recheck(d) {
    const ok = await FC.modal.confirm("Re-check " + d.hostname + "?",
      "The verifier looks up the records of " + d.hostname + " again now.", "Re-check");
    if (!ok) return;
    const res = await FC.api.request("POST", "/v1/domains/" + seg(d.hostname) + "/check");
    announce(res.ok ? "Re-check of " + d.hostname + " requested." : "Re-check failed: " + FC.api.problemText(res));
    FC.app.route();
  }

  function failingCell(d) {
    const f = d.failing;
    if (!f) return el("span", { class: "muted" }, "none: every step passed");
    return el("div", { class: "failing" }, el("strong", {}, f.type), " ", badge(f.status), " ",
      el("code", {}, f.reason), el("p", { class: "failing-message" }, f.message),
      f.fix ? el("p", { class: "muted" }, "Fix: " + f.fix) : null);
  }

  function domainRows(items) {
    return items.map((d) => [
      el("a", { href: "#/domain/" + seg(d.hostname) }, d.hostname),
      el("a", { href: "#/workspace/" + seg(d.workspace_id) }, d.workspace_id),
      badge(d.status), failingCell(d),
      el("button", { type: "button", "aria-label": "Re-check " + d.hostname, onclick: () => recheck(d) },
        "Re-check")]);
  }

  async function domainsPage(ctx) {
    const status = ctx.params.get("status") || "";
    const q = ctx.params.get("q") || "";
    const cursor = ctx.params.get("cursor") || "";
    const select = el("select", { id: "domain-status", name: "status" },
      el("option", { value: "" }, "Every status"),
      DOMAIN_STATUSES.map((s) => el("option", { value: s }, s)));
    select.value = status;
    const input = el("input", { id: "domain-search", type: "search", name: "q", value: q, autocomplete: "off",
      spellcheck: "false", placeholder: "www.example.com" });
    const form = el("form", { role: "search", class: "inline-form", novalidate: true },
      el("label", { for: "domain-status" }, "Status"), select,
      el("label", { for: "domain-search" }, "Hostname prefix"), input,
      el("button", { type: "submit" }, "Show"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      window.location.hash = domainsHref(select.value, input.value.trim(), "");
    });
    ctx.view.append(el("h1", {}, "Domains"), form);
    const p = new URLSearchParams({ limit: "100" });
    if (status) p.set("status", status);
    if (q) p.set("q", q);
    if (cursor) p.set("cursor", cursor);
    const res = await FC.api.request("GET", "/v1/domains?" + p.toString());
    if (!FC.app.alive(ctx.g)) return;
    if (!res.ok) return ctx.view.appendChild(el("p", { class: "error", role: "alert" }, FC.api.problemText(res)));
    const items = res.data.items || [];
    const headers = ["Domain", "Workspace", "Status", "Failing step", "Actions"];
    // Grouped by status on this page, the ones that need a look first.
    const groups = status ? [status] : DOMAIN_STATUSES;
    let shown = 0;
    for (const s of groups) {
      const mine = items.filter((d) => d.status === s);
      if (!mine.length && !status) continue;
      shown += mine.length;
      ctx.view.appendChild(el("section", { "aria-labelledby": "domains-" + s, "data-status": s },
        el("h2", { id: "domains-" + s }, s + " (" + mine.length + (res.data.next_cursor ? "+" : "") + ")"),
        FC.dom.table("Domains " + s, headers, domainRows(mine))));
    }
    if (!shown && !status) ctx.view.appendChild(el("p", {}, "No custom domain matches."));
    const nav = el("nav", { class: "pager", "aria-label": "Pages" });
    if (cursor) nav.appendChild(el("a", { href: domainsHref(status, q, "") }, "First page"));
    if (res.data.next_cursor)
      nav.appendChild(el("a", { href: domainsHref(status, q, res.data.next_cursor), rel: "next" }, "Next page"));
    ctx.view.appendChild(nav);
  }

  function pageHref(q, cursor) {
    const p = new URLSearchParams();
    if (q) p.set("q", q);
    if (cursor) p.set("cursor", cursor);
    const s = p.toString();
    return "#/workspaces" + (s ? "?" + s : "");
  }

  async function workspacesPage(ctx) {
    const q = ctx.params.get("q") || "";
    const cursor = ctx.params.get("cursor") || "";
    const input = el("input", { id: "ws-search", type: "search", name: "q", value: q, autocomplete: "off",
      spellcheck: "false", placeholder: "acme or acme.example.net" });
    const form = el("form", { role: "search", class: "inline-form", novalidate: true },
      el("label", { for: "ws-search" }, "Search by name or hostname prefix"), input,
      el("button", { type: "submit" }, "Search"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      window.location.hash = pageHref(input.value.trim(), "");
    });
    ctx.view.append(el("h1", {}, "Workspaces"), form);
    const p = new URLSearchParams({ limit: "50" });
    if (q) p.set("q", q);
    if (cursor) p.set("cursor", cursor);
    const res = await FC.api.request("GET", "/v1/workspaces?" + p.toString());
    if (!FC.app.alive(ctx.g)) return;
    if (!res.ok) return ctx.view.appendChild(el("p", { class: "error", role: "alert" }, FC.api.problemText(res)));
    const items = res.data.items || [];
    ctx.view.appendChild(FC.dom.table(q ? "Workspaces matching “" + q + "”" : "All workspaces",
      ["Name", "Hostname", "Region", "State", "Phase", "Agent message"], items.map((w) => [
        el("a", { href: "#/workspace/" + seg(w.id) }, w.name), w.hostname, w.region, badge(w.state),
        badge(w.observed ? w.observed.phase : "pending"), (w.observed && w.observed.message) || "—"])));
    const nav = el("nav", { class: "pager", "aria-label": "Pages" });
    if (cursor) nav.appendChild(el("a", { href: pageHref(q, "") }, "First page"));
    if (res.data.next_cursor) nav.appendChild(el("a", { href: pageHref(q, res.data.next_cursor), rel: "next" }, "Next page"));
    ctx.view.appendChild(nav);
  }

  // Admin only, on the workspace page: move it to another region.
  function migrateForm(w) {
    const err = el("p", { class: "error", role: "alert" });
    const select = el("select", { id: "migrate-region", name: "region" });
    FC.api.request("GET", "/v1/regions").then((res) => {
      for (const r of (res.ok && res.data.items) || []) {
        if (r.id !== w.region) select.appendChild(el("option", { value: r.id }, r.name + " (" + r.id + ")"));
      }
    });
    const form = el("form", { class: "inline-form", novalidate: true },
      el("label", { for: "migrate-region" }, "Target region"), select,
      el("button", { type: "submit", class: "danger" }, "Migrate"), err);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!select.value) return;
      const ok = await FC.modal.confirm("Migrate " + w.name + " to " + select.value + "?",
        "The workspace is started in " + select.value + " and then removed from " + w.region + ".", "Migrate");
      if (!ok) return;
      const res = await FC.api.request("POST", "/v1/workspaces/" + seg(w.id) + "/migrate", { region: select.value });
      if (!res.ok) err.textContent = FC.api.problemText(res);
      else {
        announce("Migration of " + w.name + " started.");
        FC.app.route();
      }
    });
    return el("section", { "aria-labelledby": "migrate-title" }, el("h2", { id: "migrate-title" }, "Migrate"), form);
  }

  async function renew(c) {
    const ok = await FC.modal.confirm("Renew certificate " + c.id + "?",
      "A new order is placed now for " + (c.hostnames || []).join(", ") + ".", "Renew");
    if (!ok) return;
    const res = await FC.api.request("POST", "/v1/certificates/" + seg(c.id) + "/renew");
    announce(res.ok ? "Renewal of " + c.id + " started." : "Renew failed: " + FC.api.problemText(res));
    FC.app.route();
  }

  async function certificatesPage(ctx) {
    const res = await FC.api.request("GET", "/v1/certificates");
    if (!FC.app.alive(ctx.g)) return;
    ctx.view.appendChild(el("h1", {}, "Certificates"));
    if (!res.ok) return ctx.view.appendChild(el("p", { class: "error", role: "alert" }, FC.api.problemText(res)));
    const certs = (res.data.items || []).slice().sort((a, b) =>
      String(a.not_after || "9999").localeCompare(String(b.not_after || "9999")));
    const chart = el("figure", { class: "chart" }, el("figcaption", {}, "Certificates expiring per week"));
    ctx.view.append(chart, FC.dom.table("Certificates by expiry, soonest first",
      ["Hostnames", "Status", "Expires", "Renew after", "Last error", "Actions"], certs.map((c) => [
        (c.hostnames || []).join(", "), badge(c.status), when(c.not_after), when(c.renew_after),
        c.last_error || "—", el("button", { type: "button", "aria-label": "Renew " + c.id,
          onclick: () => renew(c) }, "Renew")])));
    FC.charts.expiryPerWeek(chart, certs);
  }

  return { regionsPage, workspacesPage, domainsPage, certificatesPage, migrateForm };
})();
