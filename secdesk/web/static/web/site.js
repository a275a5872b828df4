/* secdesk portal: small progressive enhancements shared by every page. Loaded as a file (strict CSP). */
(function () {
  "use strict";

  // Elements only useful with JavaScript carry `hidden` plus data-js-only; reveal them.
  document.querySelectorAll("[data-js-only]").forEach(function (element) {
    element.hidden = false;
  });

  // Copy buttons: <button data-copy="#element-id">, with a live status next to them.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var source = document.querySelector(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("aria-describedby") || "");
    if (!source || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      if (status) {
        status.textContent = button.getAttribute("data-copied") || "Copied";
      }
    });
  });

  // A form answered with problems: take the reader to the list of them.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
