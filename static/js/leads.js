// Leads pages: the push form's live count of chosen institutions. No inline script (CSP).
(function () {
  "use strict";
  var form = document.getElementById("push-form");
  if (!form) {
    return;
  }
  var count = document.getElementById("push-count");
  function update() {
    var chosen = form.querySelectorAll('input[name="institutions"]:checked').length;
    if (count) {
      count.textContent = String(chosen);
    }
  }
  form.addEventListener("change", update);
  update();
})();
