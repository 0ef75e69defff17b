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
  return {png: url.slice(url.indexOf(",") + 1), drawn: drawnRecord(option, p.width, p.height)};
};

// What the chart shows, for the renderer's validate (renderers/chart_readback.py): every text in
// zrender's display list (what was painted), with its role and its four corners in canvas pixels,
// and per series the number each data item's mark was drawn from.
function drawnRecord(option, width, height) {
  const model = chart.getModel();
  const roles = new Map();  // zrender Text -> {role, series, index}
  const view = (component) => chart.getViewOfComponentModel(component).group;
  const texts = (group, roleOf) => group.traverse((el) => { if (el.type === "text") roles.set(el, roleOf(el)); });
  const title = option.title && option.title[0] || {};
  model.eachComponent("title", (m) => texts(view(m), (el) => ({
    role: el.style.text === title.text ? "title" : el.style.text === title.subtext ? "source" : "other"})));
  model.eachComponent("legend", (m) => texts(view(m), () => ({role: "legend"})));
  for (const [axes, name] of [["xAxis", "x_title"], ["yAxis", "y_title"]]) {
    model.eachComponent(axes, (m) => texts(view(m), (el) => ({
      role: el.anid === "name" ? name : m.get("type") === "category" ? "category" : "tick"})));
  }
  const values = [];
  model.eachSeries((series, s) => {
    const data = series.getData(), row = [];
    data.each((j) => {
      const raw = series.getRawValue(j);
      row.push(Array.isArray(raw) ? raw[raw.length - 1] : raw !== null && typeof raw === "object" ? raw.value : raw);
      const el = data.getItemGraphicEl(j);
      if (el) el.traverse((node) => {
        const label = node.getTextContent && node.getTextContent();
        if (label) roles.set(label, {role: "value", series: s, index: j});
      });
    });
    values.push(row);
  });
  const painted = new Set();
  for (const el of chart.getZr().storage.getDisplayList(true)) {
    if (el.type === "tspan" && el.parent && el.parent.type === "text") painted.add(el.parent);
  }
  const drawn = [];
  for (const text of painted) {
    const r = text.getBoundingRect(), m = text.transform || [1, 0, 0, 1, 0, 0];
    const quad = [[r.x, r.y], [r.x + r.width, r.y], [r.x + r.width, r.y + r.height], [r.x, r.y + r.height]]
      .map(([x, y]) => [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]]);
    drawn.push({text: String(text.style.text), quad, rotated: Math.abs(m[1]) > 1e-6, ...(roles.get(text) || {role: "other"})});
  }
  return {size: [width, height], texts: drawn, values};
}

window.gotforgeReady = true;
