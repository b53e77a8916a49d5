// Plots drawn by the vendored uPlot (uPlot.iife.min.js, MIT, pinned in
// package.json). Each chart sits in a <figure> whose caption says what it
// shows; the same numbers are in the page's tables and meters as text.
"use strict";
window.FC = window.FC || {};
FC.charts = (function () {
  function width(container) {
    return Math.max(280, Math.min(900, (container.clientWidth || 600) - 8));
  }

  function plot(container, label, opts, data) {
    if (!window.uPlot) return null;
    const box = FC.dom.el("div", { class: "plot", role: "img", "aria-label": label });
    container.appendChild(box);
    const u = new window.uPlot(Object.assign({ width: width(container), height: 220 }, opts), data, box);
    window.addEventListener("resize", () => u.setSize({ width: width(container), height: 220 }));
    return u;
  }

  function pct(part, total) {
    return total > 0 ? Math.round((1000 * part) / total) / 10 : 0;
  }

  // Grouped bars: memory, CPU and workspaces allocated, % of capacity, per
  // region. Region i owns x = 4i … 4i+2 (one bar each) and a gap at 4i+3;
  // each series has a value only at its own slot.
  function capacity(container, regions) {
    const kinds = [["memory_mib", "Memory %", "#1f6feb"], ["cpu_millis", "CPU %", "#b35900"],
      ["workspaces", "Workspaces %", "#2d7d46"]];
    const xs = [];
    const cols = kinds.map(() => []);
    regions.forEach((r, i) => {
      for (let k = 0; k < 3; k++) {
        xs.push(4 * i + k);
        kinds.forEach(([key], j) => cols[j].push(j === k ?
          pct((r.allocated || {})[key] || 0, (r.capacity || {})[key] || 0) : null));
      }
    });
    const value = (i, j) => cols[j][3 * i + j];
    const summary = regions.map((r, i) => r.id + ": memory " + value(i, 0) + "%, CPU " + value(i, 1) +
      "%, workspaces " + value(i, 2) + "%").join("; ");
    plot(container, "Bar chart of allocated capacity per region, in percent. " + summary, {
      scales: { x: { time: false, range: [-1, 4 * regions.length - 1] }, y: { range: [0, 100] } },
      axes: [{ splits: () => regions.map((_, i) => 4 * i + 1),
        values: (u, vals) => vals.map((v) => (regions[(v - 1) / 4] ? regions[(v - 1) / 4].id : "")) },
      { label: "% allocated" }],
      series: [{ label: "Region", value: (u, v) => (v === null || !regions[Math.floor(v / 4)] ? "—"
        : regions[Math.floor(v / 4)].id) }].concat(kinds.map(([, label, color]) => ({
        label, stroke: color, fill: color + "b3", width: 1, spanGaps: false,
        paths: window.uPlot.paths.bars({ size: [0.9, 40] }), points: { show: false } }))),
    }, [xs].concat(cols));
  }

  const WEEK = 7 * 24 * 3600;
  // Bars: how many certificates expire in each of the coming weeks.
  function expiryPerWeek(container, certs) {
    const now = Math.floor(Date.now() / 1000);
    const start = now - (now % WEEK);
    const counts = new Map();
    for (const c of certs) {
      const t = Date.parse(c.not_after || "");
      if (isNaN(t)) continue;
      const wk = Math.floor(t / 1000) - ((Math.floor(t / 1000) - start) % WEEK + WEEK) % WEEK;
      counts.set(wk, (counts.get(wk) || 0) + 1);
    }
    const weeks = [];
    const last = Math.max(start + 12 * WEEK, ...counts.keys());
    for (let w = start; w <= last; w += WEEK) weeks.push(w);
    const ys = weeks.map((w) => counts.get(w) || 0);
    plot(container, "Bar chart of certificates expiring per week: " + weeks.map((w, i) =>
      new Date(w * 1000).toISOString().slice(0, 10) + ": " + ys[i]).filter((_, i) => ys[i] > 0).join("; "), {
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { label: "certificates" }],
      series: [{}, { label: "Expiring", stroke: "#b35900", fill: "#b3590099",
        paths: window.uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false } }],
    }, [weeks, ys]);
  }

  // Placements per minute over the last hour (GET /v1/metrics/history).
  function placements(container, points) {
    const xs = points.map((p) => Math.floor(Date.parse(p.t) / 1000));
    const ys = points.map((p) => p.placements);
    const total = ys.reduce((a, b) => a + b, 0);
    const busiest = Math.max(0, ...ys);
    plot(container, "Bar chart of workspaces placed per minute over the last hour: " + total +
      " in total, at most " + busiest + " in one minute.", {
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { label: "placements / min" }],
      series: [{}, { label: "Placements", stroke: "#1f6feb", fill: "#1f6febb3",
        paths: window.uPlot.paths.bars({ size: [0.8, 20] }), points: { show: false } }],
    }, [xs, ys]);
  }

  return { capacity, expiryPerWeek, placements };
})();
