// A background job's progress on the page that started it (templates/jobs/_progress.html):
// poll its status every second until it is done or failed.
(function () {
  "use strict";
  function paint(box, s) {
    var bar = box.querySelector(".progress-bar");
    bar.style.width = s.progress + "%";
    bar.textContent = s.progress + "%";
    bar.parentNode.setAttribute("aria-valuenow", s.progress);
    box.querySelector(".job-status").textContent = s.status_label;
    box.querySelector(".job-message").textContent = s.message || "";
    box.querySelector(".job-error").textContent = s.error || "";
    var download = box.querySelector(".job-download");
    if (download && s.download) {
      download.querySelector("a").setAttribute("href", s.download);
      download.classList.remove("d-none");
    }
    if (s.finished) {
      bar.classList.remove("progress-bar-striped", "progress-bar-animated");
      bar.classList.add(s.status === "failed" ? "bg-danger" : "bg-success");
    }
  }
  function poll(box, failures) {
    fetch(box.dataset.jobStatus, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (s) {
        paint(box, s);
        if (!s.finished) { setTimeout(function () { poll(box, 0); }, 1000); }
        else if (s.status === "done" && box.dataset.reloadWhenDone) { window.location.reload(); }
      })
      .catch(function () {
        box.querySelector(".job-message").textContent = "暂时无法获取进度，正在重试…";
        if (failures < 30) { setTimeout(function () { poll(box, failures + 1); }, 3000); }
      });
  }
  document.querySelectorAll(".progress-bar[data-width]").forEach(function (bar) {
    bar.style.width = bar.dataset.width + "%";
  });
  document.querySelectorAll(".job-progress[data-job-status]").forEach(function (box) {
    if (box.querySelector(".job-status").textContent.trim() !== "已完成") { poll(box, 0); }
  });
})();
