// The console's one Trusted Types policy (the CSP allows only "fc-console" and
// requires Trusted Types for every script sink). The console builds the DOM
// from elements and text nodes (dom_helper.js) and never parses a string as
// HTML, so the policy refuses markup: a future assignment of a string to an
// HTML sink fails loudly instead of becoming an injection.
"use strict";
window.FC = window.FC || {};
(function () {
  function refuse(kind) {
    return function (value) {
      if (value === "") return "";
      throw new TypeError("fc-console: " + kind + " from a string is not allowed");
    };
  }
  if (window.trustedTypes && window.trustedTypes.createPolicy) {
    FC.policy = window.trustedTypes.createPolicy("fc-console", {
      createHTML: refuse("HTML"),
      createScript: refuse("script"),
      createScriptURL: refuse("script URL"),
    });
  }
})();
