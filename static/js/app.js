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
  // fetch() POSTs carry the CSRF token from the page's meta tag.
  window.csrfFetch = function (url, options) {
    options = options || {};
    options.headers = Object.assign({"X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content},
                                    options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options);
  };
})();
