// Checkbox pickers (templates/_form.html `checks`): typing in the filter hides the options
// that do not contain the text; ticked options always stay in view.
(function () {
  "use strict";
  document.querySelectorAll("[data-picker]").forEach(function (picker) {
    var filter = picker.querySelector("[data-picker-filter]");
    if (!filter) { return; }
    filter.addEventListener("input", function () {
      var text = filter.value.trim().toLowerCase();
      picker.querySelectorAll("[data-picker-option]").forEach(function (option) {
        var box = option.querySelector("input");
        var shown = !text || box.checked || option.textContent.toLowerCase().indexOf(text) >= 0;
        option.classList.toggle("d-none", !shown);
      });
    });
  });
})();
