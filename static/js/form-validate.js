// Validation as one types, in Chinese: HTML5 constraints (required, min, max, step, pattern,
// minlength) plus checks a page registers with FormCheck.addCheck(form, fn). Each message is
// shown beside its field in the .invalid-feedback[data-field=NAME] element. The server checks
// everything again; this only saves a round trip.
(function () {
  "use strict";

  var USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  // GB 32100-2015: 18 characters from USCC_CHARS, the last a weighted mod-31 check character
  function usccProblem(raw) {
    var code = (raw || "").replace(/\s+/g, "").toUpperCase();
    if (code.length !== 18) { return "统一社会信用代码应为18位，当前为" + code.length + "位"; }
    var sum = 0;
    for (var i = 0; i < 17; i++) {
      var value = USCC_CHARS.indexOf(code.charAt(i));
      if (value < 0) { return "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"; }
      sum += value * USCC_WEIGHTS[i];
    }
    var check = USCC_CHARS.charAt((31 - (sum % 31)) % 31);
    if (USCC_CHARS.indexOf(code.charAt(17)) < 0) { return "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"; }
    if (code.charAt(17) !== check) { return "统一社会信用代码校验位错误，应为 " + check; }
    return "";
  }

  function messageFor(el) {
    var v = el.validity, d = el.dataset;
    if (!v || v.valid) { return ""; }
    if (v.valueMissing) {
      return d.msgRequired || (el.type === "radio" || el.tagName === "SELECT" ? "请选择一项" : "请填写此项");
    }
    if (v.badInput) { return "请填写数字"; }
    if (v.rangeUnderflow) { return d.msgMin || ("不能小于 " + el.min); }
    if (v.rangeOverflow) { return d.msgMax || ("不能大于 " + el.max); }
    if (v.stepMismatch) { return (el.step && el.step.indexOf(".") >= 0) ? "最多保留两位小数" : "请填写整数"; }
    if (v.patternMismatch) { return d.msgPattern || "格式不正确"; }
    if (v.tooShort) { return "至少 " + el.minLength + " 个字"; }
    if (v.tooLong) { return "不超过 " + el.maxLength + " 个字"; }
    if (v.typeMismatch) { return el.type === "email" ? "邮箱格式不正确" : "格式不正确"; }
    return el.validationMessage || "请检查此项";
  }

  function feedbackFor(form, name, el) {
    var box = form.querySelector('.invalid-feedback[data-field="' + name + '"]');
    if (!box && el) {
      box = document.createElement("div");
      box.className = "invalid-feedback";
      box.setAttribute("data-field", name);
      var anchor = el.closest(".input-group") || el;
      anchor.parentNode.insertBefore(box, anchor.nextSibling);
    }
    return box;
  }

  function hidden(el) {
    return el.disabled || el.closest(".d-none") !== null;
  }

  function fieldsOf(form) {
    var names = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.type === "submit" || el.type === "button") { return; }
      if (names.indexOf(el.name) < 0) { names.push(el.name); }
    });
    return names;
  }

  function show(form, name, message) {
    var els = form.querySelectorAll('[name="' + name + '"]');
    if (!els.length) { return; }
    Array.prototype.forEach.call(els, function (el) {
      if (el.type !== "radio" && el.type !== "checkbox") { el.classList.toggle("is-invalid", !!message); }
      el.setAttribute("aria-invalid", message ? "true" : "false");
    });
    var box = feedbackFor(form, name, els[els.length - 1]);
    box.textContent = message || "";
    box.classList.toggle("d-block", !!message);
  }

  function check(form, name) {
    var els = form.querySelectorAll('[name="' + name + '"]');
    if (!els.length || hidden(els[0])) { return ""; }
    var el = els[0];
    var message = messageFor(el);
    if (!message && el.hasAttribute("data-uscc") && el.value.trim()) { message = usccProblem(el.value); }
    if (!message) {
      (form._checks || []).some(function (fn) {
        message = fn(form)[name] || "";
        return !!message;
      });
    }
    return message;
  }

  function validate(form, names) {
    var firstBad = null;
    names.forEach(function (name) {
      var message = check(form, name);
      show(form, name, message);
      if (message && !firstBad) { firstBad = form.querySelector('[name="' + name + '"]'); }
    });
    return firstBad;
  }

  function attach(form) {
    if (form._live) { return; }
    form._live = true;
    form._checks = form._checks || [];
    var touched = {};
    function onEdit(event) {
      var name = event.target.name;
      if (!name) { return; }
      if (event.type === "focusout" || event.type === "change") { touched[name] = true; }
      if (touched[name] || event.target.classList.contains("is-invalid")) { validate(form, [name]); }
      // a change may make another touched field right or wrong (loan kind vs due date)
      if (event.type === "change") {
        validate(form, Object.keys(touched).filter(function (n) { return n !== name; }));
      }
    }
    form.addEventListener("input", onEdit);
    form.addEventListener("change", onEdit);
    form.addEventListener("focusout", onEdit);
    form.addEventListener("submit", function (event) {
      var names = fieldsOf(form);
      names.forEach(function (n) { touched[n] = true; });
      var firstBad = validate(form, names);
      if (firstBad) {
        event.preventDefault();
        event.stopImmediatePropagation();
        firstBad.focus({preventScroll: true});
        (firstBad.closest("fieldset") || firstBad).scrollIntoView({block: "center", behavior: "smooth"});
      }
    }, true);
  }

  window.FormCheck = {
    attach: attach,
    addCheck: function (form, fn) { attach(form); form._checks.push(fn); },
    clear: function (form, name) { show(form, name, ""); },
    validate: validate,
    usccProblem: usccProblem
  };

  document.querySelectorAll("form[data-live-validate]").forEach(attach);
})();
