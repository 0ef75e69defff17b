"""Tests of the chart data (corpora/charts.py, corpora/chart_generator.py) and the matplotlib chart
renderer, with real matplotlib and fonts (no mocks)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Wedge
from matplotlib.ticker import AutoLocator

from corpora.base import CorpusError
from corpora.chart_generator import generate_chart, random_chart
from corpora.charts import (
    KINDS,
    Chart,
    chart_from_target,
    chart_to_target,
    format_number,
    user_charts,
)
from renderers.backends import fonts
from renderers.base import Reject, Sample
from renderers.chart_matplotlib import MatplotlibChartRenderer, Options
from renderers.chart_matplotlib.layout import InViewLocator, TextBoxes
from tests.shard_helpers import good_items


def png_bytes(sample: Sample) -> bytes:
    buffer = io.BytesIO()
    sample.images[0].save(buffer, format="PNG")
    return buffer.getvalue()


def render_until_accepted(renderer: MatplotlibChartRenderer, seed: int) -> Sample:
    """The first accepted sample from seeds ``seed, seed + 1, ...`` (a few layouts are rejected)."""
    for s in range(seed, seed + 20):
        try:
            sample = renderer.render(np.random.default_rng(s))
        except Reject:
            continue
        renderer.validate(sample)
        return sample
    raise AssertionError(f"20 rejects in a row from seed {seed}")


@pytest.fixture(scope="module")
def renderer() -> MatplotlibChartRenderer:
    return MatplotlibChartRenderer(Options())


# --------------------------------------------------------------------------- chart data


def test_target_is_canonical_json_in_schema_order() -> None:
    chart = Chart("Sales", "Source: Office", "Year", "Units (%)", {"北方": {"2020": 1, "2021": 2.5}})
    target = chart_to_target(chart)
    assert target == (
        '{"title": "Sales", "source": "Source: Office", "x_title": "Year", "y_title": "Units (%)", '
        '"values": {"北方": {"2020": 1, "2021": 2.5}}}'
    )
    assert chart_from_target(target) == chart


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_generated_charts_round_trip_and_are_rounded(kind: str, lang: str) -> None:
    for seed in range(15):
        chart, record = generate_chart(np.random.default_rng(seed), lang, kind)
        assert chart_from_target(chart_to_target(chart)) == chart
        assert all(text == text.strip() for text in chart.texts())
        assert all(chart.series) and all(chart.categories)
        decimals = record["decimals"]
        for row in chart.values.values():
            for value in row.values():
                assert round(value, decimals) == value
                assert isinstance(value, int) == (decimals == 0)
                assert "e" not in format_number(value)
        if kind == "pie":
            (row,) = chart.values.values()
            assert sum(round(v * 10**decimals) for v in row.values()) == 100 * 10**decimals
            assert all(v > 0 for v in row.values())
        if kind == "stacked_bar":
            assert (chart.matrix() >= 0).all()


def test_generator_is_a_function_of_the_rng() -> None:
    a = random_chart(np.random.default_rng(7), "zh", "line")
    b = random_chart(np.random.default_rng(7), "zh", "line")
    assert a == b
    assert a != random_chart(np.random.default_rng(8), "zh", "line")


def test_user_jsonl_keeps_good_rows_and_counts_bad_ones(tmp_path: Path) -> None:
    good = {"title": "T", "source": "", "x_title": "", "y_title": "", "values": {"s": {"a": 1, "b": 2.5}}}
    rows = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "values": {"s": {"a": "12"}}}),
        json.dumps({k: v for k, v in good.items() if k != "source"}),
        json.dumps({**good, "values": {}}),
        json.dumps({**good, "values": {"s": {"a": True}}}),
        '{"title": "T", "source": "", "x_title": "", "y_title": "", "values": {"s": {"a": NaN}}}',
        json.dumps({**good, "values": {"s": {"a": 1}, "t": {"b": 2}}}),
        json.dumps({**good, "title": 3}),
        json.dumps([1, 2]),
        json.dumps({**good, "title": "second good"}),
    ]
    path = tmp_path / "charts.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    corpus = user_charts(path)
    assert [c.title for c in good_items(corpus)] == ["T", "second good"]
    assert corpus.rejects == {
        "bad-json": 1,
        "empty-values": 1,
        "missing-key": 1,
        "not-a-number": 2,
        "not-a-string": 1,
        "not-an-object": 1,
        "not-finite": 1,
        "ragged-series": 1,
    }
    assert any(":2:" in example for example in corpus.examples)


def test_user_corpus_without_a_good_row_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(CorpusError):  # items are parsed when drawn
        user_charts(path).sample(np.random.default_rng(0))


# --------------------------------------------------------------------------- renderer


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_kind_renders_in_both_languages(kind: str, lang: str) -> None:
    renderer = MatplotlibChartRenderer(Options(kinds=(kind,), zh_probability=1.0 if lang == "zh" else 0.0))
    sample = render_until_accepted(renderer, seed=11)
    assert sample.meta["kind"] == kind and sample.meta["lang"] == lang
    chart = chart_from_target(sample.target)
    assert chart_to_target(chart) == sample.target
    image = sample.images[0]
    assert image.mode == "RGB" and image.size == (sample.meta["width_px"], sample.meta["height_px"])
    assert len(np.unique(np.asarray(image).reshape(-1, 3), axis=0)) > 10  # not blank
    json.dumps(sample.meta)  # meta is JSON-serialisable
    if lang == "zh":
        assert sample.meta["font"]["script"] == "cjk"


@pytest.mark.parametrize("kind", ["bar", "grouped_bar", "stacked_bar", "hbar", "line", "scatter", "pie"])
def test_drawn_values_and_value_labels_are_the_target_values(kind: str) -> None:
    renderer = MatplotlibChartRenderer(Options(kinds=(kind,), value_label_probability=1.0))
    for seed in range(30):  # the first seed whose chart is small enough for labels and lays out
        rng = np.random.default_rng(seed)
        chart, kind_, lang, _ = renderer.sample_chart(rng)
        look = renderer.sample_look(rng, chart, kind_, lang)
        if look["value_labels"]:
            try:
                fig, placed = renderer.figure(chart, kind, look)
            except Reject:
                continue
            if placed.get("value_labels", True):  # not dropped for overlapping
                break
    else:
        raise AssertionError(f"none of 30 {kind} charts drew with value labels")
    ax = fig.axes[0]
    expected = chart.matrix()
    if kind == "pie":
        wedges = [p for p in ax.patches if isinstance(p, Wedge)]
        spans = np.array([(w.theta2 - w.theta1) % 360 or 360 for w in wedges])
        np.testing.assert_allclose(spans / 360, expected[0] / expected[0].sum(), atol=1e-9)
    elif kind in ("line", "scatter"):
        if kind == "line":
            drawn = np.array([line.get_ydata() for line in ax.lines])
        else:
            drawn = np.array([c.get_offsets()[:, 1] for c in ax.collections])
        np.testing.assert_array_equal(drawn, expected)
    else:
        containers = [c for c in ax.containers if isinstance(c, BarContainer)]
        drawn = np.array(
            [[p.get_width() if kind == "hbar" else p.get_height() for p in c] for c in containers]
        )
        np.testing.assert_allclose(drawn, expected, rtol=1e-12)  # stacked heights are (top - bottom)
    shown = {t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))}
    for row in chart.values.values():
        for value in row.values():
            assert format_number(value) in shown or format_number(value) + "%" in shown


def test_value_axis_ticks_are_those_drawn_and_the_layout_reserves_room_for_them_only() -> None:
    fig = Figure(figsize=(5, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar([0, 1, 2], [1200.0, 10406.55, 5000.0])
    auto = AutoLocator()
    auto.set_axis(ax.yaxis)
    low, high = ax.get_ylim()
    every = np.asarray(auto())
    assert every.max() > high  # AutoLocator returns a tick above the axis, which is never drawn
    ax.yaxis.set_major_locator(InViewLocator())
    kept = ax.yaxis.get_majorticklocs()
    np.testing.assert_array_equal(kept, every[(every >= low) & (every <= high)])
    # In the renderer's charts every value tick label measured for the layout is inside the axis.
    renderer = MatplotlibChartRenderer(Options(kinds=("bar", "line", "hbar")))
    for seed in range(8):
        rng = np.random.default_rng(seed)
        chart, kind, lang, _ = renderer.sample_chart(rng)
        look = renderer.sample_look(rng, chart, kind, lang)
        try:
            fig, _ = renderer.figure(chart, kind, look)
        except Reject:
            continue
        axis = fig.axes[0].xaxis if kind == "hbar" else fig.axes[0].yaxis
        view = sorted(axis.get_view_interval())
        assert all(view[0] - 1e-6 <= loc <= view[1] + 1e-6 for loc in axis.get_majorticklocs())


def test_text_boxes_move_measured_texts_with_the_axes_and_remeasure_changed_ones() -> None:
    fig = Figure(figsize=(5, 4), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xticks([0, 1, 2], ["alpha", "beta", "gamma"], rotation=45, ha="right", rotation_mode="anchor")
    title = ax.set_title("A title")
    label = ax.text(1, 0.5, "value", ha="center")
    boxes = TextBoxes(canvas.get_renderer())
    texts = [*ax.get_xticklabels(), title, label]
    first = [boxes.extent(t) for t in texts]
    ax.set_position((0.3, 0.25, 0.5, 0.5))  # every anchor moves
    label.set_text("a longer value")  # and one string changes
    for text, before in zip(texts, first):
        after = boxes.extent(text)
        np.testing.assert_allclose(after.bounds, text.get_window_extent(canvas.get_renderer()).bounds, atol=1e-9)
        assert text is label or not np.allclose(after.bounds, before.bounds)


def test_value_labels_that_would_overlap_are_dropped_and_the_meta_says_so() -> None:
    renderer = MatplotlibChartRenderer(Options(kinds=("line", "scatter", "grouped_bar"), value_label_probability=1.0))
    kept = dropped = 0
    for seed in range(40):
        try:
            sample = renderer.render(np.random.default_rng(seed))
        except Reject:
            continue
        meta = sample.meta
        fig, _ = renderer.figure(chart_from_target(sample.target), meta["kind"], meta)  # drawn again, to inspect
        ax = fig.axes[0]
        labels = [t.get_window_extent(fig.canvas.get_renderer()) for t in ax.texts]
        if meta.get("value_labels_dropped") == "overlapping":
            assert meta["value_labels"] is False and not labels
            dropped += 1
        elif meta["value_labels"]:
            assert labels and not any(a.overlaps(b) for i, a in enumerate(labels) for b in labels[i + 1 :])
            kept += 1
    assert kept and dropped  # both cases occur in 40 charts


def test_same_seed_same_bytes_even_after_other_charts(renderer: MatplotlibChartRenderer) -> None:
    seeds = [3, 4, 5, 6]
    fresh = [(png_bytes(s), s.target) for s in (render_until_accepted(renderer, seed) for seed in seeds)]
    used = MatplotlibChartRenderer(Options())
    for seed in range(200, 215):  # other kinds, fonts, styles and languages first
        try:
            used.render(np.random.default_rng(seed))
        except Reject:
            pass
    again = [
        (png_bytes(s), s.target) for s in (render_until_accepted(used, seed) for seed in reversed(seeds))
    ]
    assert fresh == again[::-1]
    assert len({b for b, _ in fresh}) == len(seeds)


def test_chinese_chart_uses_a_cjk_font_and_no_glyph_is_missing() -> None:
    renderer = MatplotlibChartRenderer(Options(zh_probability=1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        samples = [render_until_accepted(renderer, seed) for seed in (0, 40, 80)]
    for sample in samples:
        meta = sample.meta
        assert (
            meta["lang"] == "zh" and meta["font"]["script"] == "cjk" and meta["font"]["region"] in ("sc", "")
        )
        chart = chart_from_target(sample.target)
        face = fonts.FontFace.from_meta(meta["font"])
        assert fonts.covers(face, "".join(chart.texts()))
        assert fonts.covers(fonts.FontFace.from_meta(meta["title_font"]), chart.title)


def test_matplotlib_draws_with_exactly_the_face_checked_for_coverage() -> None:
    """The alias family resolves to the picked file and face index (a .ttc holds several regions)."""
    from matplotlib import font_manager

    renderer = MatplotlibChartRenderer(Options())
    for regular, bold in list(renderer.bold.items())[::3]:
        for weight, face in (("normal", regular), ("bold", bold)):
            prop = font_manager.FontProperties(
                family=_alias_of(face if weight == "normal" else regular), weight=weight
            )
            found = font_manager.fontManager.findfont(prop, fallback_to_default=False)
            assert (str(found), found.face_index) == (str(Path(face.path).resolve()), face.index)


def _alias_of(face: fonts.FontFace) -> str:
    from renderers.chart_matplotlib.faces import alias

    return alias(face)


def test_user_chart_is_drawn_as_given_and_uncovered_text_is_rejected(tmp_path: Path) -> None:
    chart = {
        "title": "Costs in $ and $",
        "source": "",
        "x_title": "",
        "y_title": "",
        "values": {"Cost": {"a": 1.25, "b": -3}},
    }
    path = tmp_path / "user.jsonl"
    path.write_text(json.dumps(chart) + "\n", encoding="utf-8")
    renderer = MatplotlibChartRenderer(Options(kinds=("bar", "pie")), corpus_path=path)
    assert len(renderer.corpus) == 1
    sample = render_until_accepted(renderer, seed=0)
    assert sample.meta["kind"] == "bar"  # a pie cannot show a negative value
    assert chart_from_target(sample.target).to_dict() == chart
    hieroglyph = {**chart, "title": "\U00013000 report"}
    path.write_text(json.dumps(hieroglyph) + "\n", encoding="utf-8")
    with pytest.raises(Reject) as err:
        MatplotlibChartRenderer(Options(), corpus_path=path).render(np.random.default_rng(0))
    assert err.value.reason == "missing-glyph"


def test_validate_rejects_an_unfaithful_target(renderer: MatplotlibChartRenderer) -> None:
    sample = render_until_accepted(renderer, seed=1)
    for bad in ("{}", sample.target.replace(", ", ",", 1), "not json"):
        with pytest.raises(Reject):
            renderer.validate(Sample(sample.images, bad, sample.meta))


def test_options_reject_unknown_kinds_and_keys() -> None:
    with pytest.raises(ValueError):
        Options(kinds=("radar",))
    with pytest.raises(ValueError):
        Options(colour="red")
