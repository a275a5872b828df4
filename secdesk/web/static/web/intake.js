/* The request form: show each question when it applies. Without JavaScript every question is shown. */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) {
    return;
  }

  function checkedValue(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function update() {
    var category = checkedValue("category");
    form.querySelectorAll("[data-show-for-category]").forEach(function (element) {
      // Question (ii) is for vulnerabilities; before a category is chosen it stays visible.
      element.hidden = category !== "" && element.getAttribute("data-show-for-category") !== category;
    });
    var mitigation = checkedValue("mitigation");
    form.querySelectorAll("[data-show-for-mitigation]").forEach(function (element) {
      var wanted = element.getAttribute("data-show-for-mitigation").split(" ");
      var hasText = element.querySelector("textarea") && element.querySelector("textarea").value.trim() !== "";
      element.hidden = mitigation !== "" && wanted.indexOf(mitigation) === -1 && !hasText;
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "category" || event.target.name === "mitigation") {
      update();
    }
  });
  update();
})();
