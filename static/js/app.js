// Site-wide behaviour, loaded from /static (the CSP allows no inline script).
(function () {
  "use strict";
  // A button or form with data-confirm asks before destroying anything.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // A form with data-busy="…" says so while the server works (an invitation or a proposal
  // over a city's needs takes seconds) and is not sent twice. Checked after the other submit
  // handlers (a declined confirmation, a field to correct) have had their say.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var busy = form.getAttribute("data-busy");
    if (!busy) {
      return;
    }
    window.setTimeout(function () {
      if (event.defaultPrevented) {
        return;
      }
      form.setAttribute("aria-busy", "true");
      form.querySelectorAll("button:not([type]), button[type=submit]").forEach(function (button) {
        button.setAttribute("data-idle-text", button.textContent);
        button.disabled = true;
        var spinner = document.createElement("span");
        spinner.className = "spinner-border spinner-border-sm me-1";
        spinner.setAttribute("aria-hidden", "true");
        button.textContent = busy;
        button.prepend(spinner);
      });
    }, 0);
  });
  // A page brought back by the browser's back button is the page as it was left: busy.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-busy][aria-busy]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button[data-idle-text]").forEach(function (button) {
        button.disabled = false;
        button.textContent = button.getAttribute("data-idle-text");
      });
    });
  });
  // fetch() POSTs carry the CSRF token from the page's meta tag.
  window.csrfFetch = function (url, options) {
    options = options || {};
    options.headers = Object.assign({"X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content},
                                    options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options);
  };
})();
