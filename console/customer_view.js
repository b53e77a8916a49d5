// The customer's pages (tenant token; an admin sees the same pages with the
// operator's actions added): a workspace with its status chain and custom
// domains, and a domain with the records to create and its live checklist.
"use strict";
window.FC = window.FC || {};
FC.customer = (function () {
  const { el, clear, when, badge, announce } = FC.dom;
  const seg = FC.api.seg;
  const REFRESH_MS = 3000;

  // A status chain (GET …/status) as an ordered checklist; the first
  // condition that is not True carries the fix.
  function checklist(label, chain) {
    const list = el("ol", { class: "checklist", "aria-label": label });
    for (const c of chain.conditions || []) {
      const mark = c.status === "True" ? "✓" : c.status === "False" ? "✗" : "…";
      list.appendChild(el("li", { class: "cond cond-" + String(c.status).toLowerCase(),
        "data-type": c.type, "data-status": c.status },
        el("span", { class: "mark", "aria-hidden": "true" }, mark),
        el("span", { class: "cond-type" }, c.type), " ",
        el("span", { class: "cond-status" }, c.status), " ",
        c.reason ? el("span", { class: "cond-reason" }, "(" + c.reason + ")") : null,
        c.message ? el("p", { class: "cond-message" }, c.message) : null,
        c.fix ? el("p", { class: "cond-fix" }, el("strong", {}, "To fix: "), c.fix) : null,
        c.since ? el("p", { class: "cond-since" }, "Since " + when(c.since)) : null));
    }
    return list;
  }

  function copyButton(value, what) {
    return el("button", { type: "button", class: "copy", "aria-label": "Copy " + what,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(value);
          announce("Copied " + what + ".");
        } catch (e) {
          announce("Could not copy: select the text and copy it by hand.");
        }
      } }, "Copy");
  }

  // The DNS records the customer must create for this domain.
  function recordsTable(d) {
    const rows = [];
    const add = (type, name, value, what) => rows.push([
      el("code", {}, type),
      el("span", { class: "copyable" }, el("code", {}, name), copyButton(name, what + " name")),
      el("span", { class: "copyable" }, el("code", {}, value), copyButton(value, what + " value")),
    ]);
    if (d.verification) add(d.verification.type, d.verification.name, d.verification.value, "TXT record");
    if (d.routing) add(d.routing.type, d.routing.name, d.routing.target, "routing record");
    return FC.dom.table("DNS records to create at your DNS provider", ["Type", "Name", "Value"], rows);
  }

  function workspaceFacts(w) {
    const url = "https://" + w.hostname + "/";
    const live = w.live || {};
    return el("dl", { class: "facts" },
      el("dt", {}, "URL"), el("dd", {}, el("a", { href: url, rel: "noopener noreferrer" }, url)),
      el("dt", {}, "State"), el("dd", {}, badge(w.state)),
      el("dt", {}, "Phase"), el("dd", {}, badge(w.observed ? w.observed.phase : "pending")),
      el("dt", {}, "Agent message"), el("dd", { class: "agent-message" }, (w.observed && w.observed.message) || "—"),
      el("dt", {}, "Region"), el("dd", {}, w.region),
      el("dt", {}, "Live check"), el("dd", {}, badge(live.status), " ", live.detail || ""));
  }

  function addDomainForm(ctx, w) {
    const err = el("p", { class: "error", role: "alert" });
    const input = el("input", { id: "new-domain", name: "hostname", type: "text", required: true,
      autocomplete: "off", spellcheck: "false", placeholder: "chat.example.com" });
    const form = el("form", { class: "inline-form", novalidate: true },
      el("label", { for: "new-domain" }, "Custom domain"), input,
      el("button", { type: "submit" }, "Add domain"), err);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.textContent = "";
      const res = await FC.api.request("POST", "/v1/workspaces/" + seg(w.id) + "/domains",
        { hostname: input.value.trim() });
      if (!res.ok) {
        err.textContent = FC.api.problemText(res);
        return;
      }
      window.location.hash = "#/domain/" + seg(res.data.hostname);
    });
    return form;
  }

  async function removeDomain(host, back) {
    const ok = await FC.modal.confirm("Remove " + host + "?",
      "The domain stops routing to this workspace and its certificate is no longer renewed.", "Remove domain");
    if (!ok) return;
    const res = await FC.api.request("DELETE", "/v1/domains/" + seg(host));
    if (!res.ok) {
      announce("Remove failed: " + FC.api.problemText(res));
      return;
    }
    announce("Removed " + host + ".");
    if (back) window.location.hash = back;
    else FC.app.route();
  }

  function domainsTable(w, items) {
    return FC.dom.table("Custom domains", ["Domain", "Status", "Last error", "Actions"],
      items.map((d) => [
        el("a", { href: "#/domain/" + seg(d.hostname) }, d.hostname),
        badge(d.status),
        d.last_error || "—",
        el("button", { type: "button", class: "danger", "aria-label": "Remove " + d.hostname,
          onclick: () => removeDomain(d.hostname, null) }, "Remove"),
      ]));
  }

  // Hours with one decimal, for seconds from GET /v1/usage.
  function hours(seconds) {
    return (Math.round((seconds / 3600) * 10) / 10).toFixed(1) + " h";
  }

  // Plan and usage of the current calendar month (UTC), from GET /v1/usage
  // (a tenant token sees its own only); hidden when the daemon has no usage.
  async function planPanel(ctx, w) {
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 19) + "Z";
    const usage = await FC.api.has("/v1/usage?granularity=day&from=" + encodeURIComponent(from));
    if (!usage || !usage.ok || !usage.data || !FC.app.alive(ctx.g)) return;
    const items = (usage.data.items || []).filter((u) => u.workspace_id === w.id);
    const sum = (k) => items.reduce((a, u) => a + (u[k] || 0), 0);
    const totals = usage.data.totals || {};
    const rows = [
      ["Plan", w.plan || "none"],
      ["Period", when(usage.data.from) + " – " + when(usage.data.to)],
      ["Running", hours(items.filter((u) => u.state === "running").reduce((a, u) => a + u.seconds, 0))],
      ["Suspended", hours(items.filter((u) => u.state === "suspended").reduce((a, u) => a + u.seconds, 0))],
      ["Memory", (Math.round(sum("memory_mib_seconds") / 3600 / 1024 * 100) / 100).toFixed(2) + " GiB·h"],
      ["CPU", (Math.round(sum("cpu_millis_seconds") / 3600 / 1000 * 100) / 100).toFixed(2) + " core·h"],
    ];
    if (w.trial_ends_at) rows.push(["Trial ends", when(w.trial_ends_at)]);
    if (usage.data.tenant && totals.running_seconds !== undefined)
      rows.push(["Whole account, running", hours(totals.running_seconds)]);
    ctx.view.appendChild(el("section", { "aria-labelledby": "usage-title", id: "usage" },
      el("h2", { id: "usage-title" }, "Plan and usage"),
      FC.dom.table("This month so far", ["Item", "Value"], rows.map(([k, v]) => [k, el("span", { "data-item": k }, v)]))));
  }

  async function workspacePage(ctx, id) {
    const res = await FC.api.request("GET", "/v1/workspaces/" + seg(id));
    if (!FC.app.alive(ctx.g)) return;
    if (!res.ok) return FC.app.notFound(ctx.view, "This workspace");
    const w = res.data;
    const chainBox = el("div", { class: "chain" });
    const domainsBox = el("div", {});
    ctx.view.append(el("h1", {}, w.name), workspaceFacts(w),
      el("section", { "aria-labelledby": "chain-title" }, el("h2", { id: "chain-title" }, "Status"), chainBox),
      el("section", { "aria-labelledby": "domains-title" }, el("h2", { id: "domains-title" }, "Custom domains"),
        addDomainForm(ctx, w), domainsBox));
    if (ctx.admin && FC.operator) ctx.view.appendChild(FC.operator.migrateForm(w));
    const refresh = async () => {
      const [chain, doms] = await Promise.all([
        FC.api.request("GET", "/v1/workspaces/" + seg(w.id) + "/status"),
        FC.api.request("GET", "/v1/workspaces/" + seg(w.id) + "/domains")]);
      if (!FC.app.alive(ctx.g)) return false;
      if (chain.ok) clear(chainBox).appendChild(checklist("Workspace status chain", chain.data));
      if (doms.ok) clear(domainsBox).appendChild(domainsTable(w, doms.data.items || []));
      return true;
    };
    await refresh();
    if (!ctx.admin) await planPanel(ctx, w);
    poll(ctx, refresh);
  }

  // A tenant-wide token (no workspace of its own, GET /v1/whoami): every
  // workspace of its tenant, as GET /v1/workspaces gives them to it, with
  // status and URL, paged by the API's cursor; refreshed like the others.
  async function workspacesList(ctx) {
    const cursor = ctx.params.get("cursor") || "";
    const p = new URLSearchParams({ limit: "50" });
    if (cursor) p.set("cursor", cursor);
    const box = el("div", {});
    const nav = el("nav", { class: "pager", "aria-label": "Pages" });
    ctx.view.append(el("h1", {}, "My workspaces"), box, nav);
    const refresh = async () => {
      const res = await FC.api.request("GET", "/v1/workspaces?" + p.toString());
      if (!FC.app.alive(ctx.g)) return false;
      if (!res.ok) {
        box.replaceChildren(el("p", { class: "error", role: "alert" }, FC.api.problemText(res)));
        return true;
      }
      box.replaceChildren(FC.dom.table("Your workspaces", ["Name", "URL", "State", "Phase", "Live check"],
        (res.data.items || []).map((w) => {
          const url = "https://" + w.hostname + "/";
          return [el("a", { href: "#/workspace/" + seg(w.id) }, w.name),
            el("a", { href: url, rel: "noopener noreferrer" }, url), badge(w.state),
            badge(w.observed ? w.observed.phase : "pending"), badge((w.live || {}).status)];
        })));
      nav.replaceChildren();
      if (cursor) nav.appendChild(el("a", { href: "#/" }, "First page"));
      if (res.data.next_cursor)
        nav.appendChild(el("a", { href: "#/?cursor=" + encodeURIComponent(res.data.next_cursor), rel: "next" },
          "Next page"));
      return true;
    };
    await refresh();
    poll(ctx, refresh);
  }

  // Re-runs `refresh` every few seconds while the page is shown.
  function poll(ctx, refresh) {
    const tick = async () => {
      if (!FC.app.alive(ctx.g)) return;
      const more = await refresh();
      if (more) window.setTimeout(tick, REFRESH_MS);
    };
    window.setTimeout(tick, REFRESH_MS);
  }

  async function domainPage(ctx, host) {
    const res = await FC.api.request("GET", "/v1/domains/" + seg(host));
    if (!FC.app.alive(ctx.g)) return;
    if (!res.ok) return FC.app.notFound(ctx.view, "This domain");
    let d = res.data;
    const statusBox = el("p", { class: "domain-status", "aria-live": "polite" });
    const errBox = el("p", { class: "error" });
    const chainBox = el("div", { class: "chain" });
    const back = "#/workspace/" + seg(d.workspace_id);
    const checkNow = el("button", { type: "button", onclick: async () => {
      const r = await FC.api.request("POST", "/v1/domains/" + seg(host) + "/check");
      announce(r.ok ? "Check requested." : "Check failed: " + FC.api.problemText(r));
      if (r.ok) refresh();
    } }, "Check now");
    const remove = el("button", { type: "button", class: "danger",
      onclick: () => removeDomain(host, back) }, "Remove domain");
    ctx.view.append(el("p", {}, el("a", { href: back }, "← Workspace")),
      el("h1", {}, d.hostname), statusBox, errBox,
      el("section", { "aria-labelledby": "records-title" },
        el("h2", { id: "records-title" }, "Records to create"), recordsTable(d)),
      el("section", { "aria-labelledby": "checklist-title" },
        el("h2", { id: "checklist-title" }, "Checklist"), chainBox, el("div", { class: "actions" }, checkNow, remove)));
    const refresh = async () => {
      const [dv, chain] = await Promise.all([FC.api.request("GET", "/v1/domains/" + seg(host)),
        FC.api.request("GET", "/v1/domains/" + seg(host) + "/status")]);
      if (!FC.app.alive(ctx.g)) return false;
      if (dv.ok) d = dv.data;
      statusBox.replaceChildren("Status: ", badge(d.status),
        d.last_checked_at ? " — last checked " + when(d.last_checked_at) : "");
      errBox.textContent = d.last_error ? "Last error: " + d.last_error : "";
      if (chain.ok) clear(chainBox).appendChild(checklist("Domain checklist", chain.data));
      return dv.status !== 404;
    };
    await refresh();
    poll(ctx, refresh);
  }

  return { workspacePage, workspacesList, domainPage, checklist };
})();
