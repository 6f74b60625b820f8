// Draws every <canvas data-chart="ID"> from the JSON of <script id="ID"> (dashboards.charts specs).
// The page works without it: every chart's numbers are also in the table under it.
(function () {
  "use strict";
  if (!window.Chart) return;
  var palette = ["#1f5fa8", "#d17a22", "#2a9d6f", "#b03a78", "#6b5bd2", "#8a8f2e", "#c0392b", "#128197"];
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    var axis = spec.axis || {};
    var doughnut = spec.type === "doughnut";
    var colour = 0;
    var datasets = spec.datasets.map(function (set) {
      var base = palette[colour++ % palette.length];
      if (doughnut) {
        return Object.assign({ backgroundColor: ["#2a9d6f", "#d17a22", "#c0392b"] }, set);
      }
      if (set.type === "scatter") colour--; // a subject's grades share its line's colour
      return Object.assign({ borderColor: base, backgroundColor: base, pointRadius: set.type === "scatter" ? 4 : 2 }, set);
    });
    var options = {
      responsive: true,
      plugins: {
        legend: {
          position: "bottom",
          onClick: function (event, item, legend) {
            // Hide or show a subject's line and its grade dots together.
            var chart = legend.chart;
            var group = chart.data.datasets[item.datasetIndex].group;
            var show = !chart.isDatasetVisible(item.datasetIndex);
            chart.data.datasets.forEach(function (set, index) {
              if (index === item.datasetIndex || (group && set.group === group)) chart.setDatasetVisibility(index, show);
            });
            chart.update();
          },
          labels: {
            boxWidth: 12,
            // A subject's grade dots share its line's legend entry.
            filter: function (item, data) {
              var set = data.datasets[item.datasetIndex];  // none for a doughnut's items (one per slice)
              return !set || set.legend !== false;
            },
          },
        },
        tooltip: {
          callbacks: {
            label: function (item) {
              var raw = item.raw;
              var value = raw && typeof raw === "object" ? raw.y : raw;
              var text = item.dataset.label + ": " + value + (axis.suffix || "");
              return raw && raw.title ? [raw.title, text] : text;
            },
          },
        },
      },
    };
    if (doughnut) {
      delete options.plugins.legend.onClick;  // Chart.js's own: a click hides a slice
    } else {
      options.scales = {
        y: {
          min: axis.min, max: axis.max, reverse: !!axis.reverse, beginAtZero: !axis.reverse,  // reverse: 1st at the top
          ticks: { callback: function (v) { return v + (axis.suffix || ""); } },
        },
      };
    }
    new Chart(canvas, { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
