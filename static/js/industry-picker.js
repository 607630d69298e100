// The industry picker: an input with data-industry-search="URL" becomes a combobox (WAI-ARIA
// 1.2 pattern) that finds a GB/T 4754 class by code (3670, C3670), by any part of its Chinese
// name (汽车零部件) or by pinyin initials (qclbj). Choosing an entry puts its code in the
// input and shows the entry's full path below it; the server validates the code either way.
(function () {
  "use strict";
  var uid = 0;

  function setup(input) {
    var url = input.getAttribute("data-industry-search");
    var id = input.id || ("industry-" + (++uid));
    input.id = id;
    var wrap = document.createElement("div");
    wrap.className = "suggest";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var list = document.createElement("ul");
    list.id = id + "-listbox";
    list.className = "list-group suggest-list shadow d-none";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "国民经济行业分类");
    wrap.appendChild(list);
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrap.appendChild(status);
    var chosen = document.createElement("div");
    chosen.className = "form-text text-success";
    chosen.id = id + "-chosen";
    chosen.setAttribute("data-industry-chosen", "");
    wrap.parentNode.insertBefore(chosen, wrap.nextSibling);
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(chosen.id);
    input.setAttribute("aria-describedby", described.join(" "));
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");

    var items = [], active = -1, timer = null, lastQuery = null, seq = 0;

    function hide() {
      list.classList.add("d-none");
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      active = index;
      options.forEach(function (o, i) {
        o.classList.toggle("active", i === index);
        o.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(item) {
      input.value = item.code;
      lastQuery = item.code;
      chosen.textContent = item.code + " " + item.path;
      clearTimeout(timer);
      hide();
      input.dispatchEvent(new Event("change", {bubbles: true}));
    }

    function render(found) {
      items = found;
      list.textContent = "";
      found.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = id + "-option-" + i;
        li.className = "list-group-item list-group-item-action py-1";
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-code", item.code);
        var code = document.createElement("span");
        code.className = "fw-semibold me-2";
        code.textContent = item.code;
        var name = document.createElement("span");
        name.textContent = item.name;
        var level = document.createElement("small");
        level.className = "text-secondary ms-1";
        level.textContent = "（" + item.level_label + "）";
        li.appendChild(code);
        li.appendChild(name);
        li.appendChild(level);
        li.title = item.path;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); });
        li.addEventListener("click", function () { choose(item); });
        list.appendChild(li);
      });
      var open = found.length > 0;
      list.classList.toggle("d-none", !open);
      input.setAttribute("aria-expanded", open ? "true" : "false");
      status.textContent = open ? "找到" + found.length + "个行业，用上下键选择，回车确认"
                                : "没有找到匹配的行业";
      highlight(-1);
    }

    function lookup() {
      var query = input.value.trim();
      if (query === lastQuery) { return; }
      lastQuery = query;
      if (!query) { render([]); return; }
      var mine = ++seq;
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin", headers: {"Accept": "application/json"}
      }).then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) { if (mine === seq) { render(data.results || []); } })
        .catch(function () { if (mine === seq) { render([]); } });
    }

    input.addEventListener("input", function () {
      chosen.textContent = "";
      clearTimeout(timer);
      timer = setTimeout(lookup, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.classList.contains("d-none") && items.length > 0;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) { lastQuery = null; lookup(); return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + items.length) % items.length);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(items[active]);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        hide();
      } else if (event.key === "Home" && open) {
        event.preventDefault();
        highlight(0);
      } else if (event.key === "End" && open) {
        event.preventDefault();
        highlight(items.length - 1);
      }
    });
    input.addEventListener("blur", hide);
    if (input.getAttribute("data-industry-path")) {
      chosen.textContent = input.value + " " + input.getAttribute("data-industry-path");
    }
  }

  document.querySelectorAll("input[data-industry-search]").forEach(setup);
})();
