"""Generated charts for the chart renderers: a random :class:`~corpora.charts.Chart` of a kind and a
language (``en``, ``zh``), with the record of its choices. Names are frequent words (``wordfreq``),
titles sometimes a clause of the built-in passages; values follow one of a few distributions and
are rounded to 0-3 decimal places (at least two significant digits) before they are drawn.
All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from corpora.charts import KINDS, Chart, Number
from corpora.text import default_passages, words

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
