// The whitelist progress chart: pushed / contacted / granted / disbursed per institution,
// district or cluster. Data comes from the page (data-chart), never from inline script.
(function () {
  "use strict";
  var box = document.getElementById("whitelist-chart");
  if (!box || !window.echarts) { return; }
  var data = JSON.parse(box.getAttribute("data-chart"));
  // SVG: labels are text a test can measure (no two may overlap); the box grows with the
  // categories so that bars and their labels keep room on a phone as on a desktop
  var chart = window.echarts.init(box, null, {renderer: "svg"});
  var colors = ["#6c757d", "#0dcaf0", "#0d6efd", "#198754"];

  function draw(dimension) {
    var set = data[dimension] || {categories: [], series: []};
    var perCategory = 22 * Math.max(1, set.series.length) + 16;
    box.style.height = Math.max(360, 60 + set.categories.length * perCategory) + "px";
    chart.resize();
    chart.setOption({
      color: colors,
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      legend: {top: 0, type: "scroll"},
      grid: {left: 8, right: 16, bottom: 8, top: 36, containLabel: true},
      xAxis: {type: "value", minInterval: 1, name: "户"},
      yAxis: {type: "category", data: set.categories, inverse: true,
              axisLabel: {width: box.clientWidth < 500 ? 84 : 140, overflow: "truncate",
                          interval: 0}},
      series: set.series.map(function (s) {
        return {name: s.name, type: "bar", data: s.data, barMaxWidth: 18,
                label: {show: true, position: "right"}};
      })
    }, true);
  }

  var buttons = document.querySelectorAll("#whitelist-chart-dimensions [data-dimension]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      Array.prototype.forEach.call(buttons, function (b) { b.classList.remove("active"); });
      button.classList.add("active");
      draw(button.getAttribute("data-dimension"));
    });
  });
  window.addEventListener("resize", function () { chart.resize(); });
  draw("institution");
})();
