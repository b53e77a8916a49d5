// Keyboard shortcuts (the ? dialog lists them). Never while typing in a field.
"use strict";
window.FC = window.FC || {};
FC.keyboard = (function () {
  const GO = { h: "#/", r: "#/regions", w: "#/workspaces", c: "#/certificates" };
  let pendingG = false;
  function typing(e) {
    const t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
      t.isContentEditable);
  }
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e) || document.querySelector("dialog[open]"))
      return;
    if (pendingG) {
      pendingG = false;
      if (GO[e.key]) {
        e.preventDefault();
        window.location.hash = GO[e.key];
      }
      return;
    }
    if (e.key === "g") pendingG = true;
    else if (e.key === "?") FC.modal.help();
    else if (e.key === "/") {
      const search = document.querySelector("input[type=search]");
      if (search) {
        e.preventDefault();
        search.focus();
      }
    }
  }
  document.addEventListener("keydown", onKey);
  return {};
})();
