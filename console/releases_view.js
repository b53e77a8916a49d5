// The operator's releases page (issue #14): releases and channels, and each
// rollout with its per-wave progress, the gate's verdict and the failed
// members; pause, resume, promote and abort each ask for confirmation.
"use strict";
window.FC = window.FC || {};
FC.releases = (function () {
  const { el, when, badge, announce } = FC.dom;
  const seg = FC.api.seg;
  const ACTIONS = {
    pause: ["Pause", "No further workspace starts its upgrade; the ones in flight are still watched."],
    resume: ["Resume", "The rollout continues; a failed gate of the current wave is accepted."],
    promote: ["Promote", "The current wave's bake time is skipped: the next wave starts now."],
    abort: ["Abort", "Every workspace this rollout upgraded goes back to its previous release."],
  };

  async function act(ro, action) {
    const [verb, text] = ACTIONS[action];
    const ok = await FC.modal.confirm(verb + " rollout " + ro.id + "?", text, verb);
    if (!ok) return;
    const res = await FC.api.request("POST", "/v1/rollouts/" + seg(ro.id) + "/" + action);
    announce(res.ok ? "Rollout " + ro.id + " is now " + res.data.state + "." : verb + " failed: " + FC.api.problemText(res));
    FC.app.route();
  }

  function target(ro) {
    if (ro.channel) return "channel " + ro.channel;
    const parts = Object.entries(ro.selector || {}).map(([k, v]) =>
      k + " " + (Array.isArray(v) ? v.join(", ") : Object.entries(v || {}).map(([a, b]) => a + "=" + b).join(", ")));
    return parts.join("; ") || "—";
  }

  function wavesTable(ro) {
    const cols = ["pending", "in_flight", "done", "failed", "skipped_region_down", "skipped_busy", "rolled_back"];
    return FC.dom.table("Waves of " + ro.id, ["Wave", "Status", "Members"].concat(cols.map((c) => c.replace(/_/g, " "))),
      (ro.waves_progress || []).map((w) => [String(w.wave + 1), badge(w.status), String(w.total)]
        .concat(cols.map((c) => String(w[c] || 0)))));
  }

  function rolloutCard(ro) {
    const active = ro.state === "running" || ro.state === "paused";
    const actions = [];
    if (ro.state === "running") actions.push("pause", "promote");
    if (ro.state === "paused") actions.push("resume");
    if (active) actions.push("abort");
    const conditions = (ro.conditions || []).map((c) =>
      el("li", {}, el("strong", {}, c.reason || c.type || "condition"), ": ", c.message || "", c.since ? " (since " + when(c.since) + ")" : ""));
    const failed = ro.failed || [];
    return el("article", { class: "card rollout", "aria-labelledby": "rollout-" + ro.id, "data-rollout": ro.id },
      el("h2", { id: "rollout-" + ro.id }, (ro.from_release || "…") + " → " + ro.to_release, " ",
        el("span", { class: "muted" }, "(" + ro.id + ")")),
      el("p", {}, "State ", badge(ro.state), " · ", target(ro), " · wave ",
        String(Math.min(ro.current_wave + 1, (ro.waves_progress || []).length)), " of ",
        String((ro.waves_progress || []).length), " · started ", when(ro.created_at)),
      conditions.length ? el("ul", { class: "conditions" }, conditions) : null,
      wavesTable(ro),
      failed.length ? FC.dom.table("Failed workspaces of " + ro.id, ["Workspace", "Region", "Wave", "Message"],
        failed.map((m) => [el("a", { href: "#/workspace/" + seg(m.workspace_id) }, m.workspace_id), m.region,
          String(m.wave + 1), m.message || "—"])) : null,
      actions.length ? el("div", { class: "actions" }, actions.map((a) => el("button", { type: "button",
        class: a === "abort" ? "danger" : "", "aria-label": ACTIONS[a][0] + " rollout " + ro.id,
        onclick: () => act(ro, a) }, ACTIONS[a][0]))) : null);
  }

  async function releasesPage(ctx) {
    const [rollouts, releases, channels] = await Promise.all([FC.api.request("GET", "/v1/rollouts"),
      FC.api.request("GET", "/v1/releases"), FC.api.request("GET", "/v1/channels")]);
    if (!FC.app.alive(ctx.g)) return;
    ctx.view.appendChild(el("h1", {}, "Releases"));
    if (!rollouts.ok) return ctx.view.appendChild(el("p", { class: "error", role: "alert" }, FC.api.problemText(rollouts)));
    const items = (rollouts.data.items || []).slice().sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    const active = items.filter((r) => r.state === "running" || r.state === "paused" || r.state === "aborting" ||
      r.state === "rolling_back");
    const done = items.filter((r) => !active.includes(r));
    ctx.view.append(
      el("section", { "aria-labelledby": "rollouts-active" }, el("h2", { id: "rollouts-active" }, "Active rollouts"),
        active.length ? el("div", { class: "cards" }, active.map(rolloutCard)) : el("p", {}, "No rollout is active.")),
      el("section", { "aria-labelledby": "channels-title" }, el("h2", { id: "channels-title" }, "Channels"),
        FC.dom.table("Channels", ["Channel", "Release", "Updated"], ((channels.ok && channels.data.items) || [])
          .map((c) => [c.name, c.release, when(c.updated_at)]))),
      el("section", { "aria-labelledby": "releases-title" }, el("h2", { id: "releases-title" }, "Releases"),
        FC.dom.table("Releases, newest first", ["Release", "Image", "Upgrade from", "Created"],
          ((releases.ok && releases.data.items) || []).slice().reverse().map((r) => [r.name, el("code", {}, r.image_ref),
            (r.min_from || "any") + " … " + (r.max_from || "any"), when(r.created_at)]))),
      el("section", { "aria-labelledby": "rollouts-done" }, el("h2", { id: "rollouts-done" }, "Finished rollouts"),
        FC.dom.table("Finished rollouts", ["Rollout", "From → to", "Target", "State", "Finished"],
          done.map((r) => [r.id, (r.from_release || "…") + " → " + r.to_release, target(r), badge(r.state),
            when(r.finished_at)]))));
  }

  return { releasesPage };
})();
