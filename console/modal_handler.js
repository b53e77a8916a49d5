// Confirmation before every action that changes something: a native <dialog>
// (focus trapped by the browser, Esc cancels), resolving to true or false.
"use strict";
window.FC = window.FC || {};
FC.modal = (function () {
  function confirm(title, text, okLabel) {
    const dlg = FC.dom.byId("confirm");
    FC.dom.byId("confirm-title").textContent = title;
    FC.dom.byId("confirm-text").textContent = text;
    const ok = FC.dom.byId("confirm-ok");
    const cancel = FC.dom.byId("confirm-cancel");
    ok.textContent = okLabel || "Confirm";
    const opener = document.activeElement;
    return new Promise((resolve) => {
      function done(result) {
        ok.removeEventListener("click", onOk);
        cancel.removeEventListener("click", onCancel);
        dlg.removeEventListener("cancel", onCancel);
        if (dlg.open) dlg.close();
        if (opener && opener.focus) opener.focus();
        resolve(result);
      }
      function onOk() {
        done(true);
      }
      function onCancel(e) {
        if (e) e.preventDefault();
        done(false);
      }
      ok.addEventListener("click", onOk);
      cancel.addEventListener("click", onCancel);
      dlg.addEventListener("cancel", onCancel);
      dlg.showModal();
      cancel.focus();
    });
  }
  function help() {
    const dlg = FC.dom.byId("help");
    if (!dlg.open) dlg.showModal();
  }
  document.addEventListener("DOMContentLoaded", () => {
    FC.dom.byId("help-close").addEventListener("click", () => FC.dom.byId("help").close());
  });
  return { confirm, help };
})();
