"""The `chart-echarts` renderer in real Chromium: the chart-dict target shared with chart-matplotlib,
values in the options and labels exactly those of the target, every kind, user charts as given,
animation off, and HTML in a title drawn as text."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corpora.chart_generator import generate_chart
from corpora.charts import chart_to_target, format_number, parse_chart
from renderers.chart_echarts import ECHARTS_KINDS, EchartsChartRenderer, Options, build_options, sample_look


@pytest.fixture(scope="module")
def renderer():
    instance = EchartsChartRenderer()
    yield instance
    instance.close()


def option_values(option: dict, kind: str) -> list[list]:
    """The numbers in the series data (pyecharts writes bars as values, lines and scatters as
    [category, value] pairs, pies as {name, value} items)."""

    def value(item):
        if isinstance(item, dict):
            return item["value"]
        return item[1] if isinstance(item, list) else item

    return [[value(item) for item in s["data"]] for s in option["series"]]


@pytest.mark.parametrize("kind", ECHARTS_KINDS)
def test_options_hold_exactly_the_target_values_and_labels(kind):
    rng = np.random.default_rng(3)
    chart, _ = generate_chart(rng, "en", "line" if kind == "area" else kind)
    look = sample_look(rng, Options(), kind, "en", chart)
    look["value_labels"] = True
    look["pie_labels"] = "legend"
    option, labels = build_options(chart, kind, look)
    values = [list(row.values()) for row in chart.values.values()]
    assert option_values(option, kind) == values  # the numbers drawn are the target's numbers
    assert json.dumps(option_values(option, kind)) == json.dumps(values)  # 12.0 stays 12.0, 3 stays 3
    percent = "%" if kind == "pie" and abs(sum(values[0]) - 100) < 1e-6 else ""
    assert labels == [[format_number(v) + percent for v in row] for row in values]
    assert all(s["label"]["show"] for s in option["series"])
    names = [s.get("name") for s in option["series"]]
    assert names == list(chart.values)
    if kind != "pie":
        axis = option["yAxis" if kind == "hbar" else "xAxis"][0]
        assert axis["data"] == chart.categories and axis["axisLabel"]["interval"] == 0
        assert (axis.get("inverse") is True) == (kind == "hbar")  # first category on top
        assert option["xAxis"][0]["name"] == chart.x_title and option["yAxis"][0]["name"] == chart.y_title
    if kind == "area":
        assert all("areaStyle" in s for s in option["series"])

    def animated(node) -> bool:
        if isinstance(node, dict):
            return node.get("animation") is True or any(animated(v) for v in node.values())
        return isinstance(node, list) and any(animated(v) for v in node)

    assert option["animation"] is False and not animated(option)


def test_every_kind_renders_with_the_shared_chart_target(renderer):
    for kind in ECHARTS_KINDS:
        one = EchartsChartRenderer(Options(kinds=(kind,)))
        one.page = renderer.page  # share the module's browser
        sample = one.render(np.random.default_rng(11))
        one.validate(sample)
        assert sample.meta["kind"] == kind
        assert sample.target == chart_to_target(parse_chart(sample.target))
        assert sample.images[0].size == (sample.meta["width_px"], sample.meta["height_px"])
        assert np.asarray(sample.images[0].convert("L")).std() > 5


def test_user_charts_render_as_given_and_html_is_drawn_as_text(tmp_path, renderer):
    chart = {"title": "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>", "source": "",
             "x_title": "Year", "y_title": "Sales (USD)",
             "values": {"North": {"2021": 12.0, "2022": 3, "2023": 7.25}}}
    path = tmp_path / "charts.jsonl"
    path.write_text(json.dumps(chart) + "\n" + '{"title": 1}\n', encoding="utf-8")
    user = EchartsChartRenderer(Options(kinds=("bar", "line")), corpus_path=path)
    user.page = renderer.page
    sample = user.render(np.random.default_rng(0))
    assert set(user.corpus.rejects) <= {"missing-key"}  # the bad row is counted each time it is drawn
    assert sample.target == chart_to_target(parse_chart(chart))
    assert json.loads(sample.target)["values"]["North"] == {"2021": 12.0, "2022": 3, "2023": 7.25}
    page = renderer.page._session.page
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("typeof window.pwned") == "undefined"
    # chart-matplotlib writes the same target for the same user chart.
    from renderers.chart_matplotlib import MatplotlibChartRenderer

    other = MatplotlibChartRenderer(MatplotlibChartRenderer.Options(kinds=("bar",)), path)
    assert other.render(np.random.default_rng(0)).target == sample.target
