"""What each renderer is fed: its corpus format, hand-picked hostile items, and a Hypothesis strategy
for more of them.

An item is bytes: one line of a line file (``lines``: no newline inside), or one whole file of a
folder (``files``), or one photo file (``photos``, drawn at random: scene-text has no order: cover).
Hostile text goes where the renderer reads text: inside a tabular's cell, a TikZ node, a kern
record, a chart's names, a document's paragraph, as well as in place of the whole item.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zlib
from typing import Any

from hypothesis import strategies as st
from PIL import Image

BIG_LINE = "word " * 2_000_000  # a 10 MB line

# Text that has broken parsers, typesetters, browsers and fonts elsewhere.
HOSTILE = [
    "x\x00y", "\x07\x08\x1b[31mred\x1b[0m", "\x7f\x85\x9f", "zero\u200bwidth\u200c\u200d\u2060\ufeffjoin",
    "\u202eevil\u202c right", "\u2066isolate\u2069 \u200fmark\u200e", "\u0645\u0631\u062d\u0628\u0627 abc \u05e9\u05dc\u05d5\u05dd",
    "{{{", "}}}", "\\frac{a}{", "\\def\\x{\\x}\\x", "\\def\\a{\\a\\a}\\a", "\\input{/etc/passwd}",
    "\\include{/etc/passwd}", "\\openin5=/etc/passwd", "\\write18{touch /tmp/gotforge-fuzz-pwned}",
    "\\immediate\\write18{id}", "\\catcode`\\{=12", "\\csname\\endcsname", "\\newcommand{\\y}{\\y}\\y",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    '<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd" width="9" height="9"/></svg>',
    '<iframe src="file:///etc/passwd"></iframe>', "![](file:///etc/passwd)", "![x](http://example.com/x.png)",
    "\U0001d54f\U0001f600\U0010fffd", "\uff46\uff55\uff4c\uff4c", "e\u0301\u0301\u0301\u0301", "\ufffd", "%$&#_^~",
    "(" * 3000, "{" * 3000 + "}" * 3000, "\\sqrt{" * 300 + "x" + "}" * 300, "a" * 100_000,
]
BAD_BYTES = [b"\xff\xfe\xfd", b"caf\xe9", b"\xed\xa0\x80", b"\xc0\xaf", b"ok \x80 then"]


def _lines(texts: list[str]) -> list[bytes]:
    return [t.replace("\n", " ").encode("utf-8", "surrogatepass") for t in texts]


# A line of hostile text: fragments of HOSTILE, arbitrary characters (control and format ones too)
# and undecodable bytes.
_fragment = st.one_of(st.sampled_from(HOSTILE[:-4]), st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
hostile_text = st.lists(_fragment, min_size=1, max_size=6).map("".join)
hostile_line = st.one_of(hostile_text.map(lambda t: t.replace("\n", " ").encode()), st.binary(min_size=1, max_size=60)
                         .map(lambda b: b.replace(b"\n", b" ")))


@dataclasses.dataclass(frozen=True)
class Spec:
    """A renderer's fuzzing: corpus ``layout`` and ``suffix``, renderer options, the picked items and
    a strategy drawing one more item."""

    layout: str  # lines | files | photos
    suffix: str
    options: dict[str, Any]
    picked: list[bytes]
    strategy: Any


# -- molecules ------------------------------------------------------------------------------------
SMILES_BITS = ["C", "c", "N", "O", "n", "o", "S", "Cl", "Br", "[Na+]", "[Xx]", "[C@@H]", "[2H]", "(", ")", "=", "#",
               "1", "2", "%99", ".", "*", "[*]", "/", "\\", "[", "]", "@", "+", "-", " name"]
MOLECULE = Spec("lines", ".smi", {}, _lines([
    "CCO ethanol", "c1ccccc1 benzene", "C1CC", "C((((((C", "[Xx]", "c1cccc", "C=1=C=C1", "C%99C", "*", "[*]",
    "[H][H]", "[Na+].[Cl-]", "C.C.C.C.C.C.C.C", "C" * 200, "C" * 100_000, "(" * 5000 + "C", "[C@@H](F)(Cl)Br",
    "CC(=O)O <script>alert(1)</script>", '{"smiles": "CCO"}', '{"smiles": 5}', "[", "]", "()", "=", "#",
    "c1ccccc1 \u202eevil", "C\u200bC", BIG_LINE, *HOSTILE]) + BAD_BYTES,
    st.one_of(st.lists(st.sampled_from(SMILES_BITS), min_size=1, max_size=30).map(lambda b: "".join(b).encode()),
              hostile_line))


# -- charts ---------------------------------------------------------------------------------------
def chart(values: Any, title: Any = "T", **extra: Any) -> dict[str, Any]:
    return {"title": title, "source": "", "x_title": "", "y_title": "", "values": values, **extra}


def _json_lines(values: list[Any]) -> list[bytes]:
    return [json.dumps(v, ensure_ascii=False, allow_nan=True).encode() if not isinstance(v, bytes) else v
            for v in values]


CHART_ITEMS = _json_lines([
    chart({"s": {"a": 1, "b": 2}}), chart({"s": {"a": float("nan"), "b": 2}}), chart({"s": {"a": float("inf"), "b": 1}}),
    chart({"s": {"a": -float("inf"), "b": 1}}), chart({"s": {"a": 1e308, "b": -1e308}}), chart({"s": {"a": 1e-320, "b": 0}}),
    chart({"s": {"a": 10**400, "b": 1}}), chart({"s": {"a": True, "b": None}}), chart({"s": {"a": "1", "b": [2]}}),
    chart({"s": {f"c{i}": i for i in range(3000)}}), chart({f"s{i}": {"a": i} for i in range(300)}),
    chart({"<script>alert(1)</script>": {"<img src=x onerror=alert(1)>": 1, "b": 2}}, title="<b>bold</b>"),
    chart({"s": {"a\u202eb": 1, "zero\u200bwidth": 2}}, title="\x00\x07\x1b"), chart({"s": {"a": 1}}, title=BIG_LINE),
    chart({"s": {"a": 1}}, title={"nested": [1, 2]}), chart({}), chart({"s": {}}), chart({"s": {"a": 1}}, extra=1),
    chart({" ": {"a": 1}}), chart({"s": {"a": 1}, "t": {"b": 1}}), chart([[[["deep"]]]]),
    {"values": 1}, [1, 2, 3], "a string", None, 3.5,
    b"[" * 100_000 + b"]" * 100_000, b'{"title": ' * 50_000, b"{bad json", b'{"title": NaN}', *BAD_BYTES,
])
_number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**30), 10**30), st.booleans(),
                    st.none(), st.text(max_size=5))
_name = st.one_of(hostile_text, st.text(max_size=12))
chart_item = st.one_of(
    st.builds(chart, st.dictionaries(_name, st.dictionaries(_name, _number, max_size=6), max_size=4),
              st.one_of(_name, _number)).map(lambda c: json.dumps(c, ensure_ascii=False).encode()),
    st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=8)),
                 lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner,
                                                                                      max_size=4)),
                 max_leaves=20).map(lambda v: json.dumps(v).encode()),
    hostile_line,
)
CHART_MATPLOTLIB = Spec("lines", ".jsonl", {}, CHART_ITEMS, chart_item)
CHART_ECHARTS = Spec("lines", ".jsonl", {"timeout_s": 5.0}, CHART_ITEMS, chart_item)


# -- formulas -------------------------------------------------------------------------------------
LATEX_BITS = ["x", "^", "_", "{", "}", "\\frac", "\\sqrt", "\\left(", "\\right)", "\\begin{matrix}", "\\end{matrix}",
              "&", "\\\\", "\\alpha", "\\[", "\\]", "$", "$$", "\\def", "\\input", "\\write18", "\\text{", "#", "%",
              "\\mathbb{R}", "\\hat", "\\over", "\\color{red}", "\\href{javascript:x}{y}", "\\require{action}", " "]
FORMULA = Spec("lines", ".txt", {"timeout_s": 5.0}, _lines([
    "x^2 + y^2 = z^2", "\\frac{1}{0}", "x^{^{^{}}}", "\\begin{matrix} a", "\\[ a \\] \\[ b \\]", "$$", "\\\\\\\\",
    "a \\] \\[ b", "\\href{javascript:alert(1)}{x}", "\\url{file:///etc/passwd}", "\\style{background:url(file:///etc/passwd)}{x}",
    "\\require{action}\\toggle{a}{b}\\endtoggle", "\\unicode{x1F600}", "\\class{x}{y}", "\\color{#zzz}{x}",
    "\\text{<script>alert(1)</script>}", "\\begin{array}{" + "c" * 500 + "}", "x_" * 2000, BIG_LINE, *HOSTILE]) + BAD_BYTES,
    st.one_of(st.lists(st.sampled_from(LATEX_BITS), min_size=1, max_size=25).map(lambda b: "".join(b).encode()),
              hostile_line))


# -- documents ------------------------------------------------------------------------------------
def _doc(body: str) -> bytes:
    return f"# A title\n\nSome plain words before.\n\n{body}\n\nAnd after.\n".encode("utf-8", "surrogatepass")


MATHPIX_DOC = Spec("files", ".mmd", {"timeout_s": 5.0, "lang": "en"}, [
    _doc("plain paragraph"), b"", b"\n\n\n", _doc("<script>document.body.innerHTML=''</script>"),
    _doc("```\nunclosed code"), _doc("\\begin{tabular}{|c|}\nunbalanced"), _doc("$$\\def\\x{\\x}\\x$$"),
    _doc("<img src='file:///etc/passwd'>"), _doc("<link rel=stylesheet href='file:///etc/passwd'>"),
    _doc("> " * 500 + "deep quote"), _doc("\n".join("  " * i + "- item" for i in range(300))),
    _doc("|a|b|\n|-|-|\n" + "|x|y|\n" * 5000), _doc("$" * 1001), _doc("\\[" + "{" * 2000 + "\\]"),
    _doc(BIG_LINE), *[_doc(h) for h in HOSTILE], *[b"# t\n\n" + b + b"\n" for b in BAD_BYTES],
], hostile_text.map(_doc))


# -- LaTeX tables and TikZ figures ------------------------------------------------------------------
def _table(cell: str, spec: str = "ll") -> bytes:
    return f"\\begin{{tabular}}{{{spec}}}\n{cell} & b \\\\\nc & d \\\\\n\\end{{tabular}}\n".encode("utf-8", "surrogatepass")


LATEX_TABLE = Spec("files", ".tex", {"timeout": 10.0}, [
    _table("a"), b"no table here", _table("a") * 2, _table("\\begin{tabular}{l} x \\end{tabular}"),
    b"\\begin{tabular}{ll}\na & b \\\\\n", _table("a", "@{\\write18{id}}l"), _table("a", "l" * 300),
    _table("\\multicolumn{1000}{c}{x}"), _table("\\hline\\hline\\hline" * 100), _table("&&&&&&&&"),
    _table(BIG_LINE), _table("\\verb|x|"), _table("\\catcode`\\&=11 a"), b"",
    *[_table(h) for h in HOSTILE], *[b"\\begin{tabular}{ll}\n" + b + b" & b \\\\\n\\end{tabular}\n" for b in BAD_BYTES],
], st.one_of(hostile_text.map(_table), st.lists(st.sampled_from(LATEX_BITS), max_size=20).map(lambda b: _table("".join(b)))))


def _figure(body: str) -> bytes:
    return f"\\begin{{tikzpicture}}\n{body}\n\\end{{tikzpicture}}\n".encode("utf-8", "surrogatepass")


def _node(text: str) -> bytes:
    return _figure(f"\\draw (0,0) -- (1,1);\n\\node at (0,0) {{{text}}};")


GEOMETRY = Spec("files", ".tikz", {"timeout": 10.0}, [
    _node("A"), b"no figure", _node("A") * 2, _figure("\\draw (0,0) -- (1e10,1e10);"),
    _figure("\\foreach \\i in {1,...,100000000} {\\draw (0,0) -- (1,1);}"), _figure("\\pgfmathparse{1/0}"),
    _figure("\\draw (0,0) circle (-1);"), _figure("\\node {\\input{/etc/passwd}};"), _figure("\\draw" + " (0,0) --" * 5000 + " (1,1);"),
    _figure("\\begin{scope}" * 200 + "\\end{scope}" * 200), b"\\begin{tikzpicture}\n\\draw (0,0);\n", _node(BIG_LINE), b"",
    *[_node(h) for h in HOSTILE], *[b"\\begin{tikzpicture}\n\\node {" + b + b"};\n\\end{tikzpicture}\n" for b in BAD_BYTES],
], st.one_of(hostile_text.map(_node), st.lists(st.sampled_from(LATEX_BITS), max_size=20).map(lambda b: _node("".join(b)))))


# -- kern -----------------------------------------------------------------------------------------
def _kern(*records: str) -> bytes:
    return ("\n".join(records) + "\n").encode("utf-8", "surrogatepass")


KERN_OK = ("**kern", "*clefG2", "*M4/4", "4c", "4d", "4e", "4f", "=", "2g", "2a", "==", "*-")
KERN_TOKENS = ["4c", "8d", "2.e", "16ff#", "4r", "=", "==", "*M3/4", "*k[f#]", "*clefF4", "*^", "*v", "*-", "**kern",
               "!comment", "!!!OTL: x", "4cc(", ")4d", "[4e", "4e]", ".", "*", "0.000c", "4zz", "*+", "*x", "\t"]
SHEET_MUSIC = Spec("files", ".krn", {}, [
    _kern(*KERN_OK), b"", _kern("**kern", "4c"), _kern("**kern\t**kern", "4c", "*-"), _kern("**kern", "*^", "4c\t4d", "*-"),
    _kern("**kern", "0.000c", "*-"), _kern("**kern", "*M4/4", "4c", "4d", "=", "*-"), _kern("**kern", "4zz", "*-"),
    _kern("**kern", "*clefX9", "4c", "*-"), _kern("**kern", "*-"), _kern("**kern", *["*^"] * 60, "*-"),
    _kern("**kern", *["4c"] * 200_000, "*-"), _kern("!!!OTL: <script>alert(1)</script>", *KERN_OK),
    _kern("!!!COM: \u202eevil\u200b", *KERN_OK), _kern("**kern", "4c(", "4d", "*-"), _kern("**kern", "[4c", "*-"),
    _kern("**text", "la", "*-"), _kern("**kern\t**text", "4c\t\\input{/etc/passwd}", "*-"),
    *[_kern("**kern", "*clefG2", h.replace("\n", " "), "4c", "*-") for h in HOSTILE], *[b"**kern\n" + b + b"\n*-\n" for b in BAD_BYTES],
], st.one_of(st.lists(st.sampled_from(KERN_TOKENS), max_size=30).map(lambda t: _kern("**kern", *t, "*-")),
             st.lists(hostile_text.map(lambda t: t.replace("\n", " ")), max_size=5).map(lambda t: _kern(*KERN_OK[:-1], *t, "*-"))))


# -- plain text -----------------------------------------------------------------------------------
TEXT_PAGE = Spec("lines", ".txt", {"lang": "en"}, _lines([
    "A plain line of words.", "word " * 20_000, BIG_LINE, "x" * 100_000, *HOSTILE]) + BAD_BYTES, hostile_line)


# -- photos ---------------------------------------------------------------------------------------
def _png(size: tuple[int, int] = (200, 150), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white" if mode == "RGB" else 255).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header for a picture of ``width`` x ``height`` with almost no data (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _mutated(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out)


SCENE_TEXT = Spec("photos", ".png", {}, [
    _png(), b"", b"not an image at all", _png()[:60], _png_claiming(100_000, 100_000), _png_claiming(0, 0),
    _png((1, 1)), _png((4000, 10)), _png((300, 200), "L"), _png((300, 200), "RGBA"), _png((300, 200), "I;16"),
    b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>', b"GIF89a" + b"\x00" * 40,
], st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8).map(lambda e: _mutated(_png(), e)))


SPECS: dict[str, Spec] = {
    "molecule": MOLECULE, "chart-matplotlib": CHART_MATPLOTLIB, "chart-echarts": CHART_ECHARTS, "formula": FORMULA,
    "mathpix-doc": MATHPIX_DOC, "latex-table": LATEX_TABLE, "geometry": GEOMETRY, "sheet-music": SHEET_MUSIC,
    "text-page": TEXT_PAGE, "scene-text": SCENE_TEXT,
}
# Renderers without a user corpus draw only their own generated content: nothing to feed them.
NO_USER_CORPUS = ("stitch", "digits")
