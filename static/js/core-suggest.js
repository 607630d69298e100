// Suggestions from the platform's core-enterprise list while one types a buyer's name
// (inputs with data-suggest="core"; the form's data-suggest-url answers JSON).
(function () {
  "use strict";
  document.querySelectorAll('input[data-suggest="core"]').forEach(function (input) {
    var form = input.form;
    var url = form && form.getAttribute("data-suggest-url");
    var list = form && form.querySelector('[data-suggest-list="' + input.name + '"]');
    if (!url || !list) { return; }
    var timer = null, active = -1, lastQuery = "";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");

    function hide() {
      list.classList.add("d-none");
      input.setAttribute("aria-expanded", "false");
      active = -1;
    }

    function choose(name) {
      input.value = name;
      lastQuery = name;  // the input event below must not fetch the list again
      clearTimeout(timer);
      hide();
      input.dispatchEvent(new Event("input", {bubbles: true}));
      input.dispatchEvent(new Event("change", {bubbles: true}));
    }

    function render(items) {
      list.textContent = "";
      items.forEach(function (item) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "list-group-item list-group-item-action py-1";
        button.setAttribute("role", "option");
        button.textContent = item.name;
        if (item.matched) {
          var small = document.createElement("small");
          small.className = "text-secondary ms-1";
          small.textContent = "（" + item.matched + "）";
          button.appendChild(small);
        }
        button.addEventListener("mousedown", function (e) { e.preventDefault(); });
        button.addEventListener("click", function () { choose(item.name); });
        list.appendChild(button);
      });
      list.classList.toggle("d-none", items.length === 0);
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
      active = -1;
    }

    function lookup() {
      var query = input.value.trim();
      if (query === lastQuery) { return; }
      lastQuery = query;
      if (!query) { render([]); return; }
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin", headers: {"Accept": "application/json"}
      }).then(function (r) { return r.ok ? r.json() : {suggestions: []}; })
        .then(function (data) { if (input.value.trim() === query) { render(data.suggestions || []); } })
        .catch(function () { render([]); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 200);
    });
    input.addEventListener("keydown", function (event) {
      var items = list.querySelectorAll("button");
      if (list.classList.contains("d-none") || !items.length) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
        items.forEach(function (b, i) { b.classList.toggle("active", i === active); });
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(items[active].firstChild.textContent);
      } else if (event.key === "Escape") {
        hide();
      }
    });
    input.addEventListener("blur", hide);
  });
})();
