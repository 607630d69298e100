// The import page: refuse a file that is too large or not .xlsx before sending it.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form) { return; }
  var max = parseInt(form.getAttribute("data-max-bytes"), 10);
  var maxText = form.getAttribute("data-max-text");
  var input = form.querySelector('input[type="file"]');

  function problem() {
    var file = input.files && input.files[0];
    if (!file) { return "请选择要上传的 Excel 文件"; }
    if (!/\.xlsx$/i.test(file.name)) {
      return /\.xls$/i.test(file.name) ? "不支持旧版 .xls 格式，请在 Excel/WPS 中另存为 .xlsx 后上传"
                                        : "文件不是 Excel（.xlsx）文件，请下载平台模板填写后上传";
    }
    if (file.size > max) {
      return "文件过大（" + (file.size / 1048576).toFixed(1) + " MB）：上传的 Excel 文件不能超过 " + maxText +
             "。请删除多余的工作表、图片和空行，或把企业分成几批分别导入。";
    }
    return "";
  }

  function show(message) {
    var box = form.querySelector('.invalid-feedback[data-field="file"]');
    if (!box) {
      box = document.createElement("div");
      box.className = "invalid-feedback";
      box.setAttribute("data-field", "file");
      input.parentNode.insertBefore(box, input.nextSibling);
    }
    box.textContent = message;
    box.classList.toggle("d-block", !!message);
    input.classList.toggle("is-invalid", !!message);
  }

  input.addEventListener("change", function () { show(problem()); });
  form.addEventListener("submit", function (event) {
    var message = problem();
    show(message);
    if (message) { event.preventDefault(); }
  });
})();
