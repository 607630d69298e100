// The needs form: show only the fields that apply (renewal → current lender and due date;
// supply-chain finance → core enterprise; tech upgrade / project → project description),
// and the checks HTML5 cannot express. Messages match the server's.
(function () {
  "use strict";
  var form = document.getElementById("need-form");
  if (!form || !window.FormCheck) { return; }
  var hasBankLoan = form.getAttribute("data-has-bank-loan") === "1";
  var PROJECT = ["tech_upgrade", "project"];

  function chosen(name) {
    var el = form.querySelector('input[name="' + name + '"]:checked');
    return el ? el.value : "";
  }

  function today() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function toggle(id, on, names) {
    var section = document.getElementById(id);
    if (!section) { return; }
    section.classList.toggle("d-none", !on);
    names.forEach(function (name) {
      var el = form.elements[name];
      if (el) { el.required = on; }
      if (!on) { FormCheck.clear(form, name); }
    });
  }

  function sync() {
    var purpose = chosen("purpose");
    toggle("renewal-fields", chosen("loan_kind") === "renewal", ["current_lender", "renewal_due"]);
    toggle("supply-chain-fields", purpose === "supply_chain", ["core_enterprise"]);
    var project = PROJECT.indexOf(purpose) >= 0;
    var label = document.getElementById("description-label");
    var help = document.getElementById("description-help");
    if (label) {
      label.textContent = project ? label.getAttribute("data-label-project") : label.getAttribute("data-label-other");
      if (project) {
        var star = document.createElement("span");
        star.className = "text-danger";
        star.textContent = " *";
        label.appendChild(star);
      }
    }
    if (help) { help.textContent = project ? help.getAttribute("data-help-project") : help.getAttribute("data-help-other"); }
    // the folded part opens when something in it is owed (a project's description, a renewal)
    var more = document.getElementById("more-fields");
    if (more && (project || chosen("loan_kind") === "renewal")) { more.open = true; }
    var now = document.getElementById("loan-kind-now");
    var kind = form.querySelector('input[name="loan_kind"]:checked');
    if (now && kind && kind.labels && kind.labels[0]) {
      var title = kind.labels[0].querySelector(".fw-semibold");
      now.textContent = title ? title.textContent : now.textContent;
    }
  }

  // a refused field inside the fold must be seen: open it after the checks ran
  form.addEventListener("submit", function () {
    window.setTimeout(function () {
      var more = document.getElementById("more-fields");
      if (more && more.querySelector(".is-invalid")) { more.open = true; }
    }, 0);
  });

  FormCheck.addCheck(form, function () {
    var errors = {};
    var kind = chosen("loan_kind");
    if (kind === "first_loan" && hasBankLoan) {
      errors.loan_kind = "企业信息中登记为已有银行贷款，不能选择“首贷”；请选择“新增贷款”或“续贷”（如登记有误，请先修改企业信息）";
    } else if (kind === "renewal" && !hasBankLoan) {
      errors.loan_kind = "续贷须有正在使用的银行贷款，企业信息中登记为无银行贷款；请选择“首贷”，或先在企业信息中更新贷款情况";
    }
    var due = form.elements.renewal_due;
    if (kind === "renewal" && due && due.value && due.value < today()) {
      errors.renewal_due = "现贷款到期日已过；逾期后不再按续贷办理，请联系原贷款机构";
    }
    if (!form.querySelector('input[name="guarantee_modes"]:checked')) {
      errors.guarantee_modes = "请至少选择一种可提供的担保方式（没有抵押和担保请选“信用”）";
    }
    var core = form.elements.core_enterprise;
    if (chosen("purpose") === "supply_chain" && core && !core.value.trim()) {
      errors.core_enterprise = "供应链融资请填写核心企业（您主要供货的大客户）";
    }
    var description = form.elements.description;
    if (PROJECT.indexOf(chosen("purpose")) >= 0 && description && description.value.trim().length < 10) {
      errors.description = "请简要说明项目（至少10个字）：如设备或工程内容、总投资、建设周期";
    }
    return errors;
  });

  form.addEventListener("change", function (event) {
    if (event.target.name === "loan_kind" || event.target.name === "purpose") { sync(); }
  });
  sync();
})();
