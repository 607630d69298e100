// Check-in at the door. Staff open this page on a phone: with the browser's BarcodeDetector
// (Chrome on Android, Safari 17+) the camera reads the participant's QR code; without it the
// typed code is sent. Both post JSON with the page's CSRF token (csrfFetch in app.js). The
// camera is allowed by the Permissions-Policy header camera=(self).
(function () {
  "use strict";
  var box = document.getElementById("scanner");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-checkin-url");
  var start = box.querySelector("[data-scanner-start]");
  var stop = box.querySelector("[data-scanner-stop]");
  var video = box.querySelector("[data-scanner-video]");
  var result = box.querySelector("[data-scanner-result]");
  var form = document.querySelector("[data-checkin-form]");
  var stream = null;
  var timer = null;
  var recent = {};   // code -> time: the same badge held up twice is sent once

  function show(ok, message) {
    result.textContent = message;
    result.classList.remove("d-none", "alert-success", "alert-danger", "alert-info");
    result.classList.add(ok === true ? "alert-success" : (ok === "info" ? "alert-info" : "alert-danger"));
  }

  // The QR holds the check-in page's URL with ?code=...; a typed code is the code itself.
  function codeFrom(text) {
    try {
      var parsed = new URL(text, window.location.href);
      if (parsed.searchParams.get("code")) {
        return parsed.searchParams.get("code");
      }
    } catch (e) { /* not a URL: the code itself */ }
    return text.trim();
  }

  function send(code, method) {
    return window.csrfFetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({code: code, method: method})
    }).then(function (response) {
      return response.json().then(function (data) {
        show(data.ok ? (data.already ? "info" : true) : false, data.message || data.error);
        var counter = document.querySelector('[data-testid="checked-in-count"]');
        if (data.ok && !data.already && counter) {
          counter.textContent = String(Number(counter.textContent) + 1);
        }
      });
    }).catch(function () {
      show(false, "网络异常，签到未完成，请重试。");
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      var input = form.querySelector('input[name="code"]');
      if (!input || !input.value.trim()) {
        return;   // the server answers with the field's message
      }
      event.preventDefault();
      send(codeFrom(input.value), "code").then(function () {
        input.value = "";
        input.focus();
      });
    });
  }

  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
    box.querySelector("[data-scanner-hint]").textContent =
      "此浏览器不支持扫码：请在“输入签到码”处输入（或用手机相机扫描二维码，打开链接后确认签到）。";
    return;
  }
  var detector = new window.BarcodeDetector({formats: ["qr_code"]});
  start.classList.remove("d-none");

  function scan() {
    detector.detect(video).then(function (codes) {
      codes.forEach(function (found) {
        var code = codeFrom(found.rawValue);
        var now = Date.now();
        if (code && (!recent[code] || now - recent[code] > 5000)) {
          recent[code] = now;
          send(code, "qr");
        }
      });
    }).catch(function () { /* a frame that is not ready yet */ });
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false})
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.classList.remove("d-none");
        stop.classList.remove("d-none");
        start.classList.add("d-none");
        return video.play();
      }).then(function () {
        timer = window.setInterval(scan, 350);
      }).catch(function () {
        show(false, "无法打开摄像头（可能未授权）。请在右侧输入签到码。");
      });
  });

  stop.addEventListener("click", function () {
    window.clearInterval(timer);
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    video.classList.add("d-none");
    stop.classList.add("d-none");
    start.classList.remove("d-none");
  });
})();
