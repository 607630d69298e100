// 银企对接会 pages: the print button of a table's schedule, and the result form's amount
// field, shown only for a signed intention (loaded from /static: the CSP allows no inline script).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  var form = document.querySelector("[data-result-form]");
  if (!form) {
    return;
  }
  var amount = form.querySelector("[data-intention-only]");
  function sync() {
    var chosen = form.querySelector('input[name="outcome"]:checked');
    var intention = chosen && chosen.value === "intention";
    amount.classList.toggle("d-none", !intention);
    var input = amount.querySelector("input");
    if (input && !intention) {
      input.value = "";
    }
  }
  form.addEventListener("change", sync);
  sync();
})();
