// gotforge page function for ECharts: renderChart. Takes one JSON payload and returns {png} (the
// chart's own canvas export) or {reject: {reason, detail}} (renderers/browser.py).
"use strict";

let chart = null;

// payload: {option (pyecharts' JSON), labels: [[text per data item] per series], width, height,
//           theme, paper}
window.renderChart = async (p) => {
  if (chart !== null) chart.dispose();  // a fresh instance per chart: no state carried between samples
  const div = document.getElementById("chart");
  div.style.width = `${p.width}px`;
  div.style.height = `${p.height}px`;
  chart = echarts.init(div, p.theme, {renderer: "canvas", width: p.width, height: p.height, devicePixelRatio: 1});
  const option = p.option;
  // Value labels show the texts computed in Python (the numbers of the target, as written there).
  option.series.forEach((series, index) => {
    if (series.label && series.label.show) {
      series.label.formatter = (item) => p.labels[index][item.dataIndex];
    }
  });
  chart.setOption(option);
  const url = chart.getDataURL({type: "png", pixelRatio: 1, backgroundColor: p.paper});
  return {png: url.slice(url.indexOf(",") + 1)};
};

window.gotforgeReady = true;
