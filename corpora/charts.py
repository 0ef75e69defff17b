"""Chart data for the chart renderers: the chart dict, its canonical target text, a generator and
user JSON-lines charts. Nothing here depends on a plotting library, so every chart back-end
(``chart-matplotlib``, ``chart-echarts``) draws the same data and writes the same targets.

The chart dict is GOT's chart target (GOT paper, section 3.3, "chart"; the schema comes from
OneChart)::

    {"title": str, "source": str, "x_title": str, "y_title": str,
     "values": {series_name: {category_name: number}}}

Absent titles, source and axis titles are empty strings. ``x_title`` is the title drawn on the
horizontal axis and ``y_title`` the one on the vertical axis, as the chart shows them (so for a
horizontal bar chart ``x_title`` names the values). Every series has the same categories in the
same order; a pie chart has one series.

Canonical target text (:func:`chart_to_target`)::

    json.dumps(chart_dict, ensure_ascii=False, separators=(", ", ": "))

with the keys in the schema order above, series and categories in drawing order (legend order;
left to right, top to bottom for horizontal bars, around the pie from its start angle), integers
written as integers and decimals as Python's shortest float repr (``12.5``, ``0.07``,
``1234567.89``).
A value label on a chart is drawn with :func:`format_number`, which is the same text, so a label
holds exactly the numbers the picture shows. Generated values are rounded to 0-3 decimal places
(at least two significant digits) before they are drawn.

User charts: a ``.jsonl`` file of one chart dict per line (or a ``.json`` file / a folder of
``.json`` files, one chart each), read with :func:`corpora.indexed.open_corpus`. A malformed row
becomes a :class:`~corpora.base.BadItem` counted by reason: ``bad-json``, ``not-an-object``,
``missing-key``, ``unknown-key``, ``not-a-string``, ``empty-values``, ``empty-name``,
``ragged-series``, ``not-a-number``, ``not-finite``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from corpora.base import BadItem, check_visible
from corpora.indexed import IndexedCorpus, open_corpus
from corpora.text import default_passages, words

Number = int | float
KINDS = ("bar", "grouped_bar", "stacked_bar", "hbar", "line", "scatter", "pie")
KEYS = ("title", "source", "x_title", "y_title", "values")
# Beyond these a chart cannot show every value readably, so the renderers would only try and fail
# (each draw slower than the last): such an item is refused when read.
MAX_SERIES, MAX_CATEGORIES, MAX_TEXT = 30, 100, 300
MAX_VALUE = 1e15  # an axis of larger numbers overflows matplotlib's tick arithmetic
TEXT_KEYS = KEYS[:4]

# (min, max) series and categories per kind: enough to be varied, few enough to stay legible.
SERIES_RANGE = {
    "bar": (1, 1),
    "grouped_bar": (2, 4),
    "stacked_bar": (2, 4),
    "hbar": (1, 3),
    "line": (1, 4),
    "scatter": (1, 3),
    "pie": (1, 1),
}
CATEGORY_RANGE = {
    "bar": (2, 12),
    "grouped_bar": (2, 7),
    "stacked_bar": (2, 9),
    "hbar": (2, 9),
    "line": (3, 12),
    "scatter": (3, 12),
    "pie": (2, 8),
}
NEGATIVE_KINDS = ("bar", "grouped_bar", "hbar", "line", "scatter")


@dataclasses.dataclass(frozen=True)
class Chart:
    """One chart in the chart-dict schema. ``values`` maps series → category → number, in drawing
    order; treat it as read-only."""

    title: str
    source: str
    x_title: str
    y_title: str
    values: Mapping[str, Mapping[str, Number]]

    @property
    def series(self) -> list[str]:
        return list(self.values)

    @property
    def categories(self) -> list[str]:
        return list(next(iter(self.values.values())))

    def matrix(self) -> np.ndarray:
        """Values as a float array of shape (series, categories)."""
        return np.array([[float(v) for v in row.values()] for row in self.values.values()])

    def texts(self) -> list[str]:
        """Every string the chart may draw: titles, source, series and category names."""
        return [self.title, self.source, self.x_title, self.y_title, *self.series, *self.categories]

    def to_dict(self) -> dict[str, Any]:
        values = {s: dict(row) for s, row in self.values.items()}
        return {
            "title": self.title,
            "source": self.source,
            "x_title": self.x_title,
            "y_title": self.y_title,
            "values": values,
        }


# --------------------------------------------------------------------------- target text


def format_number(value: Number) -> str:
    """The text of a number, identical in the target JSON and in a value label on the chart."""
    return json.dumps(value)


def chart_to_target(chart: Chart) -> str:
    """The canonical target text of ``chart`` (see the module docstring)."""
    return json.dumps(chart.to_dict(), ensure_ascii=False, separators=(", ", ": "))


def chart_from_target(text: str) -> Chart:
    """Parse a target back to a :class:`Chart`; raises :class:`BadItem` (a ``ValueError``)."""
    return parse_chart(text)


def parse_chart(raw: Any) -> Chart:
    """Validate one chart dict (or its JSON text) and return it as a :class:`Chart`."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as err:
            raise BadItem("bad-json", str(err)) from err
        except RecursionError:
            raise BadItem("bad-json", "nested too deeply to read") from None
    if not isinstance(raw, dict):
        raise BadItem("not-an-object", f"expected a JSON object, found {type(raw).__name__}")
    missing = [k for k in KEYS if k not in raw]
    if missing:
        raise BadItem("missing-key", f"missing {', '.join(missing)}; a chart needs {', '.join(KEYS)}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise BadItem("unknown-key", f"unexpected {', '.join(unknown)}; a chart has {', '.join(KEYS)}")
    for key in TEXT_KEYS:
        if not isinstance(raw[key], str):
            raise BadItem("not-a-string", f"{key} must be a string, found {type(raw[key]).__name__}")
        check_visible(raw[key])
        if len(raw[key]) > MAX_TEXT:
            raise BadItem("too-large", f"{key} has {len(raw[key])} characters, at most {MAX_TEXT}")
    values = raw["values"]
    if not isinstance(values, dict) or not values:
        raise BadItem("empty-values", "values must be a non-empty {series: {category: number}} object")
    if len(values) > MAX_SERIES or any(isinstance(row, dict) and len(row) > MAX_CATEGORIES for row in values.values()):
        raise BadItem("too-large", f"at most {MAX_SERIES} series of {MAX_CATEGORIES} categories")
    parsed: dict[str, dict[str, Number]] = {}
    categories: list[str] | None = None
    for series, row in values.items():
        if not series.strip():
            raise BadItem("empty-name", "a series name is empty")
        check_visible(series)
        if len(series) > MAX_TEXT:
            raise BadItem("too-large", f"a series name has {len(series)} characters, at most {MAX_TEXT}")
        if not isinstance(row, dict) or not row:
            raise BadItem(
                "empty-values", f"series {series!r} must be a non-empty {{category: number}} object"
            )
        if categories is None:
            categories = list(row)
        elif list(row) != categories:
            raise BadItem(
                "ragged-series", f"series {series!r} has categories {list(row)}, expected {categories}"
            )
        parsed[series] = {}
        for category, value in row.items():
            if not category.strip():
                raise BadItem("empty-name", f"a category name of series {series!r} is empty")
            check_visible(category)
            if len(category) > MAX_TEXT:
                raise BadItem("too-large", f"a category name has {len(category)} characters, at most {MAX_TEXT}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadItem("not-a-number", f"{series!r}/{category!r} is {value!r}")
            if isinstance(value, int) and abs(value) >= 2**53 or not math.isfinite(value):  # no exact float
                raise BadItem("not-finite", f"{series!r}/{category!r} is {str(value)[:40]}")
            if abs(value) > MAX_VALUE:
                raise BadItem("too-large", f"{series!r}/{category!r} is {value!r}, beyond ±{MAX_VALUE:g}")
            parsed[series][category] = value
    return Chart(raw["title"], raw["source"], raw["x_title"], raw["y_title"], parsed)


def user_charts(path: str | Path) -> IndexedCorpus[Chart]:
    """User charts: a ``.jsonl`` file of chart dicts, a ``.json`` file, or a folder of ``.json`` files."""
    from corpora.split import chart_key  # corpora.split reads charts through this module

    return open_corpus(path, parse_chart, key=chart_key, suffixes=(".jsonl", ".json"), whole_file_suffixes=(".json",))


# --------------------------------------------------------------------------- generator

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_EN_LONG = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SOURCE_KINDS = {
    "en": ("Institute", "Bureau", "Survey", "Report", "Agency", "Council", "Database", "Office"),
    "zh": ("统计局", "研究院", "调查", "年鉴", "报告", "数据库", "研究中心", "协会"),
}
UNITS = {
    "en": ("(%)", "(USD)", "(million USD)", "(kg)", "(tons)", "(thousands)", "(units)", "(hours)", "(km)"),
    "zh": ("（%）", "（元）", "（万元）", "（亿元）", "（吨）", "（万人）", "（个）", "（小时）", "（公里）"),
}
AXIS_WORDS = {
    "en": {"years": "Year", "months": "Month", "quarters": "Quarter"},
    "zh": {"years": "年份", "months": "月份", "quarters": "季度"},
}
_CLAUSE = re.compile(r"[.,;:!?，。；：！？、()（）\"“”‘’「」《》\[\]‧·]")


@functools.cache
def _name_pool(lang: str) -> tuple[str, ...]:
    """Content words for names: the frequent function words are skipped."""
    if lang == "en":
        return tuple(w for w in words("en")[150:8000])
    return tuple(w for w in words("zh")[200:8000] if 2 <= len(w) <= 3)


def _name(rng: np.random.Generator, lang: str, max_words: int = 2) -> str:
    pool = _name_pool(lang)
    n = int(rng.integers(1, max_words + 1))
    picked = [pool[int(rng.integers(len(pool)))] for _ in range(n)]
    return " ".join(w.capitalize() for w in picked) if lang == "en" else "".join(picked)


def _unique_names(rng: np.random.Generator, lang: str, n: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = _name(rng, lang)
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def _categories(rng: np.random.Generator, lang: str, n: int, kind: str) -> tuple[str, list[str]]:
    """Category names and their scheme (years, months, quarters or names)."""
    schemes = ["names"] if kind == "pie" else ["years", "months", "quarters", "names", "names"]
    scheme = schemes[int(rng.integers(len(schemes)))]
    if scheme == "months" and n > 12:
        scheme = "names"
    if scheme == "years":
        start = int(rng.integers(1980, 2026 - n))
        suffix = "年" if lang == "zh" and rng.random() < 0.5 else ""
        return scheme, [f"{start + i}{suffix}" for i in range(n)]
    if scheme == "months":
        first = int(rng.integers(0, 13 - n))
        if lang == "zh":
            return scheme, [f"{first + i + 1}月" for i in range(n)]
        names = MONTHS_EN if rng.random() < 0.6 else MONTHS_EN_LONG
        return scheme, list(names[first : first + n])
    if scheme == "quarters":
        year = int(rng.integers(1995, 2025))
        start = int(rng.integers(0, 4))
        labels = []
        for i in range(start, start + n):
            y, q = year + i // 4, i % 4 + 1
            labels.append(f"{y}Q{q}" if lang == "zh" else f"Q{q} {y}")
        return scheme, labels
    return scheme, _unique_names(rng, lang, n, set())


def _round(x: float, decimals: int) -> Number:
    if decimals == 0:
        return round(x)
    return float(round(x, decimals)) + 0.0  # + 0.0 turns -0.0 into 0.0


def _pie_values(rng: np.random.Generator, n: int, decimals: int) -> list[Number]:
    """Percentages that sum to exactly 100 at ``decimals`` places (largest-remainder rounding)."""
    unit = 10**decimals
    total = 100 * unit
    shares = rng.dirichlet(np.full(n, rng.uniform(0.8, 4.0)))
    raw = shares * (total - n) + 1  # every slice keeps at least one unit
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - int(counts.sum())]:
        counts[i] += 1
    return [_round(int(c) / unit, decimals) for c in counts]


def _value_matrix(
    rng: np.random.Generator, kind: str, n_series: int, n_cat: int
) -> tuple[np.ndarray, int, dict]:
    """Raw values (series, categories), the decimals to show, and the choices made."""
    magnitude = float(10 ** rng.uniform(-1.5, 6.5))
    if magnitude < 0.1:
        decimals = 3  # two significant digits at least: 0.031, not 0.03
    elif magnitude < 1:
        decimals = 2
    elif magnitude < 10:
        decimals = int(rng.choice([1, 2]))
    elif magnitude < 1000:
        decimals = int(rng.choice([0, 0, 1, 2]))
    else:
        decimals = int(rng.choice([0, 0, 0, 1]))
    dist = str(rng.choice(["uniform", "normal", "lognormal", "trend"]))
    shape = (n_series, n_cat)
    if dist == "uniform":
        values = rng.uniform(0.15, 1.0, shape) * magnitude
    elif dist == "normal":
        values = rng.normal(magnitude, 0.25 * magnitude, shape)
    elif dist == "lognormal":
        values = magnitude * rng.lognormal(0.0, 0.5, shape)
    else:
        start = rng.uniform(0.4, 1.0, (n_series, 1)) * magnitude
        slope = rng.uniform(-0.08, 0.15, (n_series, 1)) * magnitude
        values = start + slope * np.arange(n_cat) + rng.normal(0, 0.05 * magnitude, shape)
    negative = kind in NEGATIVE_KINDS and rng.random() < 0.2
    if negative:
        values = values - rng.uniform(0.3, 0.9) * float(np.abs(values).max())
    else:
        values = np.abs(values)
    return values, decimals, {"distribution": dist, "magnitude": magnitude, "negative": negative}


def _phrase(rng: np.random.Generator, lang: str) -> str:
    """A short clause from the text corpus, or '' when none of the right length turns up."""
    low, high = (12, 48) if lang == "en" else (4, 16)
    for _ in range(4):
        paragraph = default_passages((lang,)).sample(rng)
        paragraph = paragraph[int(rng.integers(len(paragraph)))]
        clauses = [c.strip().strip("-'*`~_").strip() for c in _CLAUSE.split(paragraph)]
        fitting = [c for c in clauses if low <= len(c) <= high and not any(ch.isdigit() for ch in c)]
        if fitting:
            clause = fitting[int(rng.integers(len(fitting)))]
            return clause[0].upper() + clause[1:] if lang == "en" else clause
    return ""


def _title(rng: np.random.Generator, lang: str, scheme: str, categories: list[str]) -> str:
    if rng.random() < 0.08:
        return ""
    if rng.random() < 0.35:
        phrase = _phrase(rng, lang)
        if phrase:
            return phrase
    a, b = _name(rng, lang, 1), _name(rng, lang, 1)
    span = f"{categories[0]}–{categories[-1]}" if scheme in ("years", "quarters") else ""
    if lang == "en":
        templates = [f"{a} {b}", f"{a} of {b}", f"{a} by {b}", f"{a} {b} Overview"]
        if span:
            templates.append(f"{a} {b}, {span}")
        elif scheme == "months":
            templates.append(f"Monthly {a} {b}")
    else:
        templates = [f"{a}{b}统计", f"各{a}{b}对比", f"{a}{b}分布", f"{a}与{b}"]
        if span:
            templates.append(f"{span}{a}{b}")
        elif scheme == "months":
            templates.append(f"每月{a}{b}")
    return templates[int(rng.integers(len(templates)))]


def _source(rng: np.random.Generator, lang: str) -> str:
    if rng.random() >= 0.35:
        return ""
    kinds = SOURCE_KINDS[lang]
    org = _name(rng, lang) + (" " if lang == "en" else "") + kinds[int(rng.integers(len(kinds)))]
    return f"Source: {org}" if lang == "en" else f"数据来源：{org}"


def _axis_titles(rng: np.random.Generator, lang: str, kind: str, scheme: str) -> tuple[str, str]:
    """(category-axis title, value-axis title)."""
    if kind == "pie":
        return "", ""
    category_title = ""
    if rng.random() < 0.7:
        category_title = AXIS_WORDS[lang].get(scheme) or _name(rng, lang, 1)
    value_title = ""
    if rng.random() < 0.75:
        units = UNITS[lang]
        unit = units[int(rng.integers(len(units)))] if rng.random() < 0.5 else ""
        value_title = _name(rng, lang) + (" " if lang == "en" and unit else "") + unit
    return category_title, value_title


def random_chart(rng: np.random.Generator, lang: str, kind: str) -> Chart:
    """A random chart of ``kind`` (one of :data:`KINDS`) in ``lang`` (``en`` or ``zh``)."""
    return generate_chart(rng, lang, kind)[0]


def generate_chart(rng: np.random.Generator, lang: str, kind: str) -> tuple[Chart, dict[str, Any]]:
    """:func:`random_chart` plus a record of the choices that made it (for a sample's meta)."""
    if kind not in KINDS:
        raise ValueError(f"unknown chart kind {kind!r}; expected one of {KINDS}")
    if lang not in ("en", "zh"):
        raise ValueError(f"unknown language {lang!r}; expected 'en' or 'zh'")
    n_series = int(rng.integers(SERIES_RANGE[kind][0], SERIES_RANGE[kind][1] + 1))
    n_cat = int(rng.integers(CATEGORY_RANGE[kind][0], CATEGORY_RANGE[kind][1] + 1))
    scheme, categories = _categories(rng, lang, n_cat, kind)
    series = _unique_names(rng, lang, n_series, set(categories))
    if kind == "pie":
        decimals = int(rng.choice([0, 1, 2]))
        rows = [_pie_values(rng, n_cat, decimals)]
        record: dict[str, Any] = {"distribution": "dirichlet-percent"}
    else:
        matrix, decimals, record = _value_matrix(rng, kind, n_series, n_cat)
        rows = [[_round(float(v), decimals) for v in row] for row in matrix]
    category_title, value_title = _axis_titles(rng, lang, kind, scheme)
    x_title, y_title = (value_title, category_title) if kind == "hbar" else (category_title, value_title)
    chart = Chart(
        title=_title(rng, lang, scheme, categories),
        source=_source(rng, lang),
        x_title=x_title,
        y_title=y_title,
        values={s: dict(zip(categories, row)) for s, row in zip(series, rows)},
    )
    record.update({"category_scheme": scheme, "decimals": decimals})
    return chart, record
