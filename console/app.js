// Sign-in, navigation and the fragment router (#/regions, #/workspace/ws_…).
// The token's kind (GET /v1/whoami) picks the view: admin → operator, tenant →
// customer. Every page is built from the public API only.
"use strict";
window.FC = window.FC || {};
FC.app = (function () {
  const { el, clear, byId } = FC.dom;
  let me = null; // {kind, workspace_id, …} of the signed-in token
  let gen = 0; // bumped on every navigation: pollers of an old page stop

  function alive(g) {
    return g === gen && me !== null;
  }
  function whoami() {
    return me;
  }

  async function signIn(token) {
    FC.api.setToken(token.trim());
    const res = await FC.api.request("GET", "/v1/whoami");
    if (!res.ok || !res.data || (res.data.kind !== "admin" && res.data.kind !== "tenant")) {
      FC.api.setToken("");
      me = null;
      return res.ok ? "An agent token cannot use the console." : FC.api.problemText(res);
    }
    me = res.data;
    return null;
  }

  function signedOut(msg) {
    FC.api.setToken("");
    me = null;
    gen++;
    clear(byId("view"));
    clear(byId("nav"));
    byId("signout").hidden = true;
    byId("signin").hidden = false;
    byId("signin-error").textContent = msg || "";
    byId("token").value = "";
    byId("token").focus();
  }

  function navLinks() {
    if (me.kind === "tenant") return [["#/", me.workspace_id ? "My workspace" : "My workspaces"]];
    return [["#/regions", "Regions"], ["#/workspaces", "Workspaces"], ["#/domains", "Domains"],
      ["#/certificates", "Certificates"], ["#/releases", "Releases"]];
  }

  function renderNav(section) {
    const nav = clear(byId("nav"));
    const list = el("ul", {});
    for (const [href, label] of navLinks()) {
      const current = href === "#/" + section || (section === "" && href === navLinks()[0][0]);
      list.appendChild(el("li", {}, el("a", { href, "aria-current": current ? "page" : null }, label)));
    }
    nav.appendChild(list);
  }

  function parseHash() {
    const raw = window.location.hash.replace(/^#/, "") || "/";
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    const parts = path.split("/").filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch (e) {
        return p;
      }
    });
    return { parts, params: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)) };
  }

  function notFound(view, what) {
    view.appendChild(el("h1", {}, "Not found"));
    view.appendChild(el("p", { class: "error", role: "alert" }, what + " does not exist, or this token may not see it."));
  }

  async function route() {
    if (!me) return;
    gen++;
    const g = gen;
    const view = clear(byId("view"));
    const { parts, params } = parseHash();
    const section = parts[0] || "";
    renderNav(section);
    const ctx = { view, g, params, admin: me.kind === "admin" };
    if (me.kind === "tenant") {
      if (section === "" && !me.workspace_id) {
        await FC.customer.workspacesList(ctx); // a tenant-wide token
      } else if (section === "" || section === "workspace") {
        await FC.customer.workspacePage(ctx, parts[1] || me.workspace_id);
      } else if (section === "domain" && parts[1]) {
        await FC.customer.domainPage(ctx, parts[1]);
      } else {
        notFound(view, "This page");
      }
    } else {
      const pages = {
        "": () => FC.operator.regionsPage(ctx),
        regions: () => FC.operator.regionsPage(ctx),
        workspaces: () => FC.operator.workspacesPage(ctx),
        domains: () => FC.operator.domainsPage(ctx),
        certificates: () => FC.operator.certificatesPage(ctx),
        releases: () => FC.releases.releasesPage(ctx),
        workspace: () => FC.customer.workspacePage(ctx, parts[1] || ""),
        domain: () => FC.customer.domainPage(ctx, parts[1] || ""),
      };
      if (pages[section]) await pages[section]();
      else notFound(view, "This page");
    }
    if (g === gen) {
      const h1 = view.querySelector("h1");
      document.title = (h1 ? h1.textContent + " — " : "") + "fleetcommand console";
    }
  }

  async function start() {
    byId("signin-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const t = byId("token").value;
      if (!t.trim()) {
        byId("signin-error").textContent = "Paste an API token first.";
        return;
      }
      const err = await signIn(t);
      if (err) {
        byId("signin-error").textContent = err;
        return;
      }
      byId("token").value = "";
      showApp();
    });
    byId("signout").addEventListener("click", () => signedOut("Signed out."));
    window.addEventListener("hashchange", () => {
      route();
      byId("main").focus();
    });
    if (FC.api.token() && !(await signIn(FC.api.token()))) showApp();
    else signedOut("");
  }

  function showApp() {
    byId("signin").hidden = true;
    byId("signin-error").textContent = "";
    byId("signout").hidden = false;
    route();
  }

  document.addEventListener("DOMContentLoaded", start);
  return { alive, whoami, signedOut, route, notFound };
})();
