// Product form: show the rate fields of the chosen pricing (fixed rate, or LPR + basis points).
(function () {
  "use strict";
  var form = document.querySelector("[data-rate-form]");
  if (!form) { return; }
  var basis = form.querySelector("select[name=rate_basis]");
  function sync() {
    var lpr = basis.value !== "fixed";
    form.querySelectorAll("[data-rate-basis]").forEach(function (el) {
      el.classList.toggle("d-none", (el.getAttribute("data-rate-basis") === "lpr") !== lpr);
    });
  }
  basis.addEventListener("change", sync);
  sync();
})();
