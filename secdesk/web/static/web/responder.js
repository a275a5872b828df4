/* secdesk responders' pages: small enhancements; every form works without them. Loaded as a file (strict CSP). */
(function () {
  "use strict";

  // --- Acknowledge: follow the desk's suggestion when the severity changes -------------------------
  // The form carries the priority the desk suggests for every severity, with and without active
  // exploitation ("critical:0:P1;critical:1:P1;..."), computed by the same code as the service.
  var ack = document.getElementById("acknowledge-form");
  if (ack) {
    var table = {};
    (ack.getAttribute("data-suggestions") || "").split(";").forEach(function (entry) {
      var parts = entry.split(":");
      if (parts.length === 3) {
        table[parts[0] + ":" + parts[1]] = parts[2];
      }
    });
    var suggestedSeverity = ack.getAttribute("data-suggested-severity") || "";
    var severity = document.getElementById("ack-severity");
    var priority = document.getElementById("ack-priority");
    var exploited = document.getElementById("ack-exploited");
    var reason = document.getElementById("ack-reason");
    var note = document.getElementById("ack-override");
    var shown = document.getElementById("ack-suggested-priority");
    var priorityTouched = false;

    var suggestionFor = function () {
      return table[severity.value + ":" + (exploited && exploited.checked ? "1" : "0")] || "";
    };

    var update = function () {
      var expected = suggestionFor();
      if (shown) {
        shown.textContent = expected || "—";
      }
      var overridden =
        (suggestedSeverity !== "" && severity.value !== suggestedSeverity) ||
        (expected !== "" && priority.value !== expected);
      if (note) {
        note.textContent = overridden ? reason.getAttribute("data-override-text") : "";
      }
      reason.required = overridden;
    };

    priority.addEventListener("change", function () {
      priorityTouched = true;
      update();
    });
    var follow = function () {
      var expected = suggestionFor();
      if (!priorityTouched && expected) {
        priority.value = expected;
      }
      update();
    };
    severity.addEventListener("change", follow);
    if (exploited) {
      exploited.addEventListener("change", follow);
    }
    update();
  }

  // --- A request to the publisher: the offer only matters for an offer change -----------------------
  var requestForm = document.getElementById("request-form");
  if (requestForm) {
    var kinds = (requestForm.getAttribute("data-offer-kinds") || "").split(" ");
    var kind = document.getElementById("request-kind");
    var offerField = document.getElementById("request-offer-field");
    var toggle = function () {
      var needsOffer = kinds.indexOf(kind.value) !== -1;
      var hasError = offerField.querySelector(".field-error") !== null;
      offerField.hidden = !needsOffer && !hasError;
    };
    kind.addEventListener("change", toggle);
    toggle();
  }
})();
