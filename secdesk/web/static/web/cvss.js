/*
 * The CVSS calculator of the request form. This file only shows the widget, switches the metric groups
 * between versions and copies a vector into the request: the vector, score and severity always come from
 * the desk (GET /cvss/score, swapped in by htmx), computed by the same code that scores a submitted ticket.
 * Without JavaScript (or htmx) the widget stays hidden and the vectors text area is all there is.
 */
(function () {
  "use strict";
  var calculator = document.getElementById("cvss-calculator");
  var vectors = document.getElementById("field-cvss_vectors");
  if (!calculator || !vectors || !window.htmx) {
    return;
  }
  var picks = document.getElementById("cvss-picks");
  calculator.hidden = false;

  function showVersion() {
    var chosen = calculator.querySelector('input[name="version"]:checked');
    calculator.querySelectorAll("[data-cvss-version]").forEach(function (group) {
      group.hidden = !chosen || group.getAttribute("data-cvss-version") !== chosen.value;
    });
  }

  calculator.addEventListener("change", function (event) {
    if (event.target.name === "version") {
      showVersion();
    }
  });

  // "Add this vector": append it to the request's vectors (once), then let the desk check them all.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-cvss-use]");
    if (!button) {
      return;
    }
    var vector = button.getAttribute("data-cvss-use");
    var lines = vectors.value.split(/\r?\n/).map(function (line) { return line.trim(); }).filter(Boolean);
    if (lines.indexOf(vector) === -1) {
      lines.push(vector);
    }
    vectors.value = lines.join("\n");
    window.htmx.trigger(vectors, "cvss:changed");
    var status = button.parentElement.querySelector("[data-cvss-added]");
    if (status) {
      status.hidden = false;
    }
  });

  // A pasted vector the desk accepted: reflect its base metrics into the radio groups.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "cvss-paste-result") {
      return;
    }
    var line = event.detail.target.querySelector("[data-metrics]");
    if (!line) {
      return;
    }
    var version = line.getAttribute("data-version");
    var versionInput = calculator.querySelector('input[name="version"][value="' + version + '"]');
    if (!versionInput) {
      return; // CVSS 3.0: checked and scored, but the calculator offers 3.1 and 4.0
    }
    versionInput.checked = true;
    showVersion();
    var prefix = "m" + version.replace(".", "") + "_";
    line.getAttribute("data-metrics").split("/").forEach(function (part) {
      var pieces = part.split(":");
      var radio = document.getElementById(prefix + pieces[0] + "-" + pieces[1]);
      if (radio) {
        radio.checked = true;
      }
    });
    window.htmx.trigger(picks, "change");
  });

  showVersion();
})();
