"""Checks on LaTeX source text that corpora apply to user items before any renderer compiles
them: commands refused because they reach files, the shell, output streams, category codes or
global definitions (a body must not change the pages of its batch-mates in the LaTeX back-end's
batched runs, :mod:`renderers.backends.latex`), and brace balance. Pure text: no TeX is run.
"""

from __future__ import annotations

import re

# Commands a user corpus item may not use: file access, shell, output streams, category codes and
# global definitions (a body must not change the pages of its batch-mates).
UNSAFE_COMMANDS = (
    "input", "include", "includeonly", "InputIfFileExists", "openin", "openout", "read", "readline",
    "write", "immediate", "write18", "ShellEscape", "catcode", "global", "gdef", "xdef", "def", "edef",
    "let", "futurelet", "csname", "makeatletter", "special", "pdfobj", "pdfliteral", "usepackage",
    "RequirePackage", "documentclass", "newcommand", "renewcommand", "providecommand", "newenvironment",
    "renewenvironment", "DeclareRobustCommand", "typeout", "batchmode", "errorstopmode", "scrollmode",
    "nonstopmode", "end", "endinput", "jobname", "tracingall", "loop", "expandafter", "directlua",
    "lccode", "uccode", "mathcode", "endcsname", "afterassignment", "aftergroup", "everypar", "output",
    "string", "pgfplotstableread", "verbatiminput", "lstinputlisting", "includegraphics", "usetikzlibrary",
    "usepgflibrary", "pgfutil@IfFileExists", "pdffiledump", "pdfmdfivesum", "pdffilesize", "pdffilemoddate",
    "filedump", "mdfivesum", "filesize", "filemoddate", "pdfximage", "XeTeXpicfile", "XeTeXpdffile",
)
_UNSAFE = re.compile(r"\\(" + "|".join(sorted(UNSAFE_COMMANDS, key=len, reverse=True)) + r")(?![A-Za-z])")


def unsafe_command(source: str) -> str | None:
    """The first refused command in ``source`` (``\\input``), or ``None``. ``\\end`` is refused only
    outside ``\\end{…}``: environments may close, but not the document."""
    for match in _UNSAFE.finditer(source):
        if match.group(1) == "end" and source[match.end():match.end() + 1] == "{" \
                and not source.startswith("{document}", match.end()):
            continue
        return "\\" + match.group(1)
    if "^^" in source:  # TeX's hex escapes could spell any of the above
        return "^^"
    return None


def balanced(source: str) -> bool:
    """Braces balance (escaped ``\\{`` ``\\}`` and ``%`` comments aside)."""
    depth = 0
    text = re.sub(r"\\[{}%\\]", "", source)
    text = re.sub(r"%.*", "", text)
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0
