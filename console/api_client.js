// The public HTTP API with the pasted token (docs/API.md). The token lives in
// sessionStorage only: never in a URL, a cookie or localStorage.
"use strict";
window.FC = window.FC || {};
FC.api = (function () {
  const KEY = "fc-console-token";
  function token() {
    return window.sessionStorage.getItem(KEY) || "";
  }
  function setToken(t) {
    if (t) window.sessionStorage.setItem(KEY, t);
    else window.sessionStorage.removeItem(KEY);
  }
  // One path segment, encoded (ids and hostnames come from the URL fragment).
  function seg(s) {
    return encodeURIComponent(String(s));
  }
  // → {status, ok, data}: data is the parsed JSON (or problem+json), or null.
  async function request(method, path, body) {
    const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit", redirect: "error" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await window.fetch(path, init);
    } catch (e) {
      return { status: 0, ok: false, data: { title: "Network error", detail: String(e) } };
    }
    let data = null;
    const type = resp.headers.get("Content-Type") || "";
    if (type.includes("json")) {
      try {
        data = await resp.json();
      } catch (e) {
        data = null;
      }
    }
    if (resp.status === 401 && FC.app) FC.app.signedOut("The token was refused (revoked or unknown).");
    return { status: resp.status, ok: resp.ok, data };
  }
  // The problem+json text of a failed call: detail, then each field error.
  function problemText(res) {
    const d = res.data || {};
    let msg = (d.title || "HTTP " + res.status) + (d.detail ? ": " + d.detail : "");
    for (const e of d.errors || []) msg += " — " + e.field + ": " + e.message;
    return msg;
  }
  // Whether an optional route exists (another release may add it): 404 → no.
  async function has(path) {
    const res = await request("GET", path);
    return res.status !== 404 && res.status !== 405 ? res : null;
  }
  return { token, setToken, seg, request, problemText, has };
})();
