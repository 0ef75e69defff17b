"""A long generated table broken over pages: latex-table's ``pages`` option, GOT's multi-page OCR
(``OCR with format across multi pages: ``), the whole ``tabular`` source as the target.

The table's rows are set as consecutive ``tabular``\\ s, one a page, as a document breaks a long table
(:func:`page_bodies`). Each keeps the whole table's columns: every ``l``/``c``/``r`` column becomes
array's ``w{l}{width}`` column, its width measured by TeX on the page itself from all the column's
cells (``\\settowidth`` of a one-column tabular of them), so no page's columns are narrower than
the table's. The header rows stay on the first page; a page breaks only between rows, never inside
a ``\\multirow`` group (:func:`page_breaks`); a rule closes a broken page and, where the table's
style has no rule between rows, opens the next. The pages' texts, in order, are the whole table's
cells in reading order, so ``validate`` reads the target against them as against one page.

Only generated tables are broken (:func:`corpora.tables.random_table` writes one row a line); a
user's table is drawn whole.
"""

from __future__ import annotations

import re

import numpy as np

from corpora.tables import Table, row_cells

HEAD = "\\begin{tabular}{"
LETTERS = "abcdefghijklmnopqrstuvwxyz"  # TeX macro names take letters only: \gfwa, \gfwb, ...
_MULTIROW = re.compile(r"\\multirow\{\d+\}\{\*\}\{(.*)\}")
# Rules that close a broken page and open the next, by the table's rule style (corpora.tables).
BREAK_RULES = {"all": ("\\hline", ""), "frame": ("\\hline", "\\hline"), "booktabs": ("\\bottomrule", "\\toprule")}


def source_rows(latex: str) -> tuple[str, list[str], list[str]]:
    """A generated table's column specification, its row lines and the lines after its last row."""
    lines = latex.split("\n")
    if not lines[0].startswith(HEAD) or lines[-1] != "\\end{tabular}":
        raise ValueError(f"not a generated tabular: {latex[:60]!r}")
    body = lines[1:-1]
    rows = [line for line in body if line.endswith("\\\\")]
    return lines[0][len(HEAD):-1], rows, body[len(rows):]


def page_breaks(table: Table, n_pages: int, rng: np.random.Generator) -> list[int]:
    """Where the pages start (row indices, the first page's 0 left out): each page about an equal
    share of the body rows after the one before it, each break moved to a row that starts a new row
    of the first column (not inside a ``\\multirow`` group)."""
    _, rows, _ = source_rows(table.latex)
    head = int(table.record.get("header", False)) + int(table.record.get("group_header", False))
    allowed = [i for i in range(head + 1, len(rows)) if row_cells(rows[i])[0]]
    share = (len(rows) - head) / n_pages
    breaks: list[int] = []
    for _ in range(1, n_pages):
        ideal = (breaks[-1] if breaks else head) + share + float(rng.uniform(-1.0, 1.0))
        free = [i for i in allowed if i > (breaks[-1] if breaks else head) + 1]
        if not free:
            break
        breaks.append(min(free, key=lambda i: (abs(i - ideal), i)))
    return breaks


def page_bodies(table: Table, breaks: list[int]) -> list[str]:
    """The LaTeX of each page: the rows from one break to the next in the whole table's columns."""
    spec, rows, tail = source_rows(table.latex)
    letters = [ch for ch in spec if ch in "lcr"]
    measured = [row_cells(row) for row in rows if "\\multicolumn" not in row]
    widths = ""
    spec_w = ""
    column = 0
    for ch in spec:
        if ch not in "lcr":
            spec_w += ch
            continue
        cells = [_MULTIROW.sub(r"\1", cells[column]) for cells in measured if len(cells) == len(letters)]
        stack = "\\\\".join(cell for cell in cells if cell) or "\\mbox{}"
        name = f"\\gfw{LETTERS[column]}"
        widths += f"\\settowidth{{\\dimen0}}{{\\begin{{tabular}}{{@{{}}l@{{}}}}{stack}\\end{{tabular}}}}" \
                  f"\\edef{name}{{\\the\\dimen0}}\n"
        spec_w += f"w{{{ch}}}{{{name}}}"
        column += 1
    close, open_ = BREAK_RULES.get(str(table.record.get("hrules")), ("", ""))
    bounds = [0, *breaks, len(rows)]
    bodies = []
    for k in range(len(bounds) - 1):
        lines = ([open_] if k and open_ else []) + rows[bounds[k]:bounds[k + 1]]
        lines += tail if k == len(bounds) - 2 else [close] if close else []
        bodies.append(widths + HEAD + spec_w + "}\n" + "\n".join(lines) + "\n\\end{tabular}")
    return bodies
