// The monitoring chart: each month's funded amount against the same month last year.
// Data comes from the page (data-chart), never from inline script (CSP script-src 'self').
(function () {
  "use strict";
  var box = document.getElementById("monitoring-chart");
  if (!box || !window.echarts) { return; }
  var data = JSON.parse(box.getAttribute("data-chart"));
  var chart = window.echarts.init(box);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: [data.year + "年", (data.year - 1) + "年"] },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", name: "万元" },
    series: [
      { name: data.year + "年", type: "bar", data: data.amount },
      { name: (data.year - 1) + "年", type: "line", data: data.amount_last }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
}());
