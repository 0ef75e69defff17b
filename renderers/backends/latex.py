"""The batched, sandboxed LaTeX back-end shared by the LaTeX renderers (``latex-table``, ``geometry``).

Why batches: a LaTeX run costs 0.1-0.5 CPU seconds of start-up (pdfLaTeX with TikZ; XeLaTeX with
xeCJK) and 5-40 ms per page after that. So many samples compile in ONE run, one page per sample,
and the PDF is rasterised page by page with ``pypdfium2``.

How batching fits the engine, which asks for one sample per seed: the renderer contract has an
optional ``render_batch(rngs) -> list[Sample | Reject]`` beside ``render(rng)`` (see
:mod:`renderers.base`). The engine (``pipelines.render.worker.render_valid``) gives a LaTeX renderer the
generators of the next ``batch_size`` samples of its shard at once and retries a rejected sample with
its next attempt's seed in a later batch. The renderer first draws every sample's record from its own
generator (a pure function of that seed, kept in ``meta``), then hands all the bodies to
:class:`LatexPool`, one run per engine. ``render(rng)`` is a batch of one. Because a page depends on
its body alone (below), sample ``i`` of a batch is byte-identical to ``render(rngs[i])``: batching
changes speed, never output, whatever the batch size, the worker count or the retries.

The document of a run is::

    <preamble>                     fixed per renderer (``\\documentclass[multi=gfpage]{standalone}``…)
    \\begin{document}
    \\typeout{<marker> 0}\\begin{gfpage}<body 0>\\end{gfpage}
    \\typeout{<marker> 1}\\begin{gfpage}<body 1>\\end{gfpage}
    …
    \\end{document}

``standalone``'s ``multi`` option makes every ``gfpage`` its own page, cropped to its content plus a
fixed border. Each body is written verbatim (renderers put their exact target in it), so a page is a
function of its body alone: it is the same page whether compiled alone or in any batch.

Error mapping: runs use ``-interaction=nonstopmode`` (errors are logged and the run goes on), and the
log is read back (:mod:`renderers.backends.latex_log`). An error line (``! …``) belongs to the sample
whose marker precedes it; the marker carries a random per-instance nonce so a body cannot forge one.
A run is *clean* when its log holds no error and its PDF has exactly one page per body; only clean
runs give pages. Otherwise:

1. the blamed samples (all of them after a timeout or an error no marker explains) are compiled alone:
   each gets its own page or is rejected with its own LaTeX error line;
2. the others are compiled again as a batch, which must now be clean (if not, each is compiled alone).

So one bad sample never loses the others, a sample is rejected only for its own error, and whether a
sample is accepted depends on its body alone, never on its batch-mates. (User corpus items may not
make global definitions, so no body can change another's page.)

What a page shows, for ``validate``: a glyph missing from its font is only a log line ("Missing
character: There is no …", XeTeX and pdfTeX alike), and the page silently lacks it; such a line
belongs to the sample whose marker precedes it, which is rejected (``missing-character``). Every
page's text is read from the PDF (pypdfium2's text layer, in content-stream order, which for TeX is
the source order) and handed to the renderer in ``Sample.drawn["text"]``, where ``validate`` checks
the label against it (:mod:`renderers.readback`).

Speed: pdfLaTeX runs start from the preamble dumped once per instance into a format file
(``mylatexformat``; same pixels, half the start-up). XeLaTeX cannot dump the fonts ``fontspec``
loads, so it reads its preamble every run.

Sandbox, for every run: ``-no-shell-escape`` (``\\write18`` only writes to the log), kpathsea's
``openin_any=p``/``openout_any=p`` (no absolute paths, no parent directories, no dot files, for both
``\\input`` and ``\\openout``), a fresh private temporary directory per run (inside one per back-end
instance, removed by :meth:`LatexBackend.close`), a minimal environment, stdin closed, and a timeout
after which the whole process group (``xelatex`` runs ``xdvipdfmx`` as a child) is killed. Without
shell escape TeX opens no network connection. Renderers additionally refuse user items that use
``\\input``, ``\\write18``, ``\\openout`` and friends (see :data:`corpora.latex_source.UNSAFE_COMMANDS`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from renderers.backends.latex_log import Run, parse_log
from renderers.base import Reject, Sample

ENGINES = ("pdflatex", "xelatex")
PAGE_ENV = "gfpage"


@dataclasses.dataclass(frozen=True)
class Page:
    """One rasterised page: a grey-level PIL image, the scale it was rendered at (pixels per pt) and
    the page's text as the PDF spells it (pypdfium2's text layer, in content-stream order)."""

    image: Image.Image
    scale: float
    text: str = ""


def page_sample(page: Page | Reject, target: str, meta: dict) -> Sample | Reject:
    """The sample of one compiled page (its scale and size added to ``meta``, its PDF text in
    ``drawn["text"]`` for ``validate``), or its reject."""
    if isinstance(page, Reject):
        return page
    meta = {**meta, "scale": page.scale, "width": page.image.width, "height": page.image.height}
    return Sample([page.image], target, meta, drawn={"text": page.text})


class LatexBackend:
    """Compile bodies in batches with ``engine`` under ``preamble``; rasterise each page.

    ``compile(bodies, scales)`` returns, per body, a :class:`Page` or a :class:`Reject` with reason
    ``latex-error`` (detail: the LaTeX error line and its source context), ``latex-timeout``,
    ``latex-no-page`` or ``missing-character`` (a glyph the font lacks: TeX logs it and draws
    nothing, so the page would not show what its body says). ``max_side`` caps the longer image
    side (the scale is lowered to fit).
    """

    def __init__(self, engine: str, preamble: str, timeout: float = 60.0, max_side: int = 2048,
                 use_format: bool = True) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown LaTeX engine {engine!r}; expected one of {ENGINES}")
        if shutil.which(engine) is None:
            raise RuntimeError(f"{engine} is not installed; run `make setup` (it installs TeX Live)")
        self.engine, self.preamble, self.timeout, self.max_side = engine, preamble, timeout, max_side
        self.marker = f"gotforge-page-{secrets.token_hex(6)}"
        self.root: str | None = None
        self.runs = 0  # LaTeX runs over bodies (tests and benchmarks read it)
        self.killed: list[int] = []  # process groups killed by the timeout (tests read it)
        self.use_format = use_format
        self.format_path: str | None = None  # "" once a build failed

    # -- public ----------------------------------------------------------------------------------
    def compile(self, bodies: Sequence[str], scales: Sequence[float]) -> list[Page | Reject]:
        if len(bodies) != len(scales):
            raise ValueError(f"{len(bodies)} bodies but {len(scales)} scales")
        if not bodies:
            return []
        run = self._run(bodies)
        if run.clean(len(bodies)):
            return self._checked_pages(run, scales)
        if len(bodies) == 1:
            return [self._failure(run)]
        suspects = set(run.errors) if run.errors and not run.unexplained else set(range(len(bodies)))
        results: dict[int, Page | Reject] = {}
        for i in sorted(suspects):
            results[i] = self.compile([bodies[i]], [scales[i]])[0]
        rest = [i for i in range(len(bodies)) if i not in suspects]
        if rest:
            again = self._run([bodies[i] for i in rest])
            if again.clean(len(rest)):
                results.update(zip(rest, self._checked_pages(again, [scales[i] for i in rest]), strict=True))
            else:
                for i in rest:
                    results[i] = self.compile([bodies[i]], [scales[i]])[0]
        return [results[i] for i in range(len(bodies))]

    def document(self, bodies: Sequence[str]) -> str:
        """The LaTeX source of one run over ``bodies``."""
        pages = "".join(
            f"\\typeout{{{self.marker} {i}}}\\begin{{{PAGE_ENV}}}%\n{body}%\n\\end{{{PAGE_ENV}}}\n"
            for i, body in enumerate(bodies)
        )
        return f"{self.preamble.strip()}\n\\begin{{document}}\n{pages}\\typeout{{{self.marker} end}}\n\\end{{document}}\n"

    def close(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            self.format_path = None

    def __del__(self) -> None:
        self.close()

    # -- one run ---------------------------------------------------------------------------------
    def _environment(self, cwd: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", cwd),  # fontconfig's cache; TeX writes only into cwd
            "LANG": "C.UTF-8",
            "openin_any": "p",
            "openout_any": "p",
            "shell_escape": "f",
            "max_print_line": "100000",  # one log line per message: markers and errors never wrap
            "error_line": "254",
            "half_error_line": "238",
            "SOURCE_DATE_EPOCH": "0",
            "FORCE_SOURCE_DATE": "1",
        }
        return env

    def _start(self, command: list[str], cwd: str) -> bool:
        """Run ``command`` sandboxed in ``cwd``; False when it was killed by the timeout."""
        process = subprocess.Popen(
            command, cwd=cwd, env=self._environment(cwd), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        if not _wait(process, self.timeout):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the whole group: xdvipdfmx too
            process.wait()
            self.killed.append(process.pid)
            return False
        return True

    def _format(self) -> str | None:
        """pdfLaTeX only: the preamble dumped once into a format file (``mylatexformat``), which
        halves the start-up of a TikZ run (0.2 → 0.1 CPU s); the pages are the same pixels. ``None``
        when it cannot be built (XeTeX cannot dump the fonts fontspec loads)."""
        if self.engine != "pdflatex" or not self.use_format:
            return None
        if self.format_path is None:
            self.format_path = ""
            folder = tempfile.mkdtemp(dir=self.root)
            with open(os.path.join(folder, "preamble.tex"), "w", encoding="utf-8") as handle:
                handle.write(f"{self.preamble.strip()}\n\\begin{{document}}\n\\end{{document}}\n")
            built = self._start([self.engine, "-ini", "-no-shell-escape", "-interaction=nonstopmode",
                                 "-jobname=gfpreamble", "&pdflatex", "mylatexformat.ltx", "preamble.tex"], folder)
            path = os.path.join(folder, "gfpreamble.fmt")
            if built and os.path.exists(path):
                self.format_path = path
        return self.format_path or None

    def _run(self, bodies: Sequence[str]) -> Run:
        if self.root is None:
            self.root = tempfile.mkdtemp(prefix="gotforge-latex-")
        fmt = self._format()
        cwd = tempfile.mkdtemp(dir=self.root)
        try:
            with open(os.path.join(cwd, "doc.tex"), "w", encoding="utf-8") as handle:
                handle.write(self.document(bodies))
            command = [self.engine, "-no-shell-escape", "-interaction=nonstopmode", "-jobname=doc", "doc.tex"]
            if fmt:
                os.link(fmt, os.path.join(cwd, "gfpreamble.fmt"))  # found in the working directory
                command.insert(1, "-fmt=gfpreamble")
            self.runs += 1
            if not self._start(command, cwd):
                return Run(None, {}, f"LaTeX ran past its {self.timeout:g} s timeout and was killed")
            log = _read(os.path.join(cwd, "doc.log"))
            pdf_path = os.path.join(cwd, "doc.pdf")
            pdf = Path(pdf_path).read_bytes() if os.path.exists(pdf_path) else None
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
        run = parse_log(log, self.marker, self.engine)
        run.pdf = pdf
        if pdf is not None:
            try:
                run.pages = len(pdfium.PdfDocument(pdf))
            except pdfium.PdfiumError as err:  # a run stopped mid-page leaves a PDF without its trailer
                run.pdf = None
                run.unexplained = run.unexplained or f"{self.engine} wrote a PDF that does not load ({err})"
        if run.pdf is None and not run.errors and not run.unexplained:
            run.unexplained = f"{self.engine} wrote no PDF"
        return run

    def _failure(self, run: Run) -> Reject:
        if run.errors:
            return Reject("latex-error", next(iter(run.errors.values())))
        if "timeout" in run.unexplained:
            return Reject("latex-timeout", run.unexplained)
        if run.unexplained:
            return Reject("latex-error", run.unexplained)
        return Reject("latex-no-page", f"{run.pages} pages for 1 body")

    def _checked_pages(self, run: Run, scales: Sequence[float]) -> list[Page | Reject]:
        """The pages of a clean run, a body that lost a glyph rejected (its page lacks it)."""
        pages: list[Page | Reject] = list(self._pages(run.pdf, scales))
        for i, detail in run.missing.items():
            pages[i] = Reject("missing-character", detail)
        return pages

    def _pages(self, pdf: bytes, scales: Sequence[float]) -> list[Page]:
        document = pdfium.PdfDocument(pdf)
        pages = []
        for i, scale in enumerate(scales):
            page = document[i]
            width, height = page.get_size()
            scale = min(scale, self.max_side / max(width, height, 1.0))
            bitmap = page.render(scale=scale, grayscale=True)
            text = page.get_textpage()
            pages.append(Page(bitmap.to_pil().convert("L"), round(scale, 6), text.get_text_range()))
            text.close()
        return pages


def _wait(process: subprocess.Popen, timeout: float) -> bool:
    """Wait for ``process`` up to ``timeout`` seconds; False if it is still running. Linux's pidfd
    wakes us the moment it exits (``Popen.wait(timeout)`` polls, adding up to 50 ms per run)."""
    try:
        fd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        try:
            process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if not ready:
        return False
    process.wait()
    return True


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


@dataclasses.dataclass(frozen=True)
class Job:
    """One page to make: which engine compiles it, its body (verbatim) and its rasterising scale."""

    engine: str
    body: str
    scale: float


class LatexPool:
    """One lazily started :class:`LatexBackend` per engine, each with its own fixed preamble.

    ``compile(jobs)`` sends the jobs of each engine to that engine in one batch and returns the
    results in the order of ``jobs``. A renderer's ``render_batch`` is "draw every record, then
    ``pool.compile``"; its ``render(rng)`` is the same with a batch of one.
    """

    def __init__(self, preambles: dict[str, str], timeout: float = 60.0, max_side: int = 2048) -> None:
        self.preambles, self.timeout, self.max_side = preambles, timeout, max_side
        self.backends: dict[str, LatexBackend] = {}

    def backend(self, engine: str) -> LatexBackend:
        if engine not in self.backends:
            if engine not in self.preambles:
                raise ValueError(f"no preamble for LaTeX engine {engine!r}")
            self.backends[engine] = LatexBackend(engine, self.preambles[engine], self.timeout, self.max_side)
        return self.backends[engine]

    def compile(self, jobs: Sequence[Job]) -> list[Page | Reject]:
        results: list[Page | Reject | None] = [None] * len(jobs)
        for engine in sorted({job.engine for job in jobs}):
            positions = [i for i, job in enumerate(jobs) if job.engine == engine]
            pages = self.backend(engine).compile([jobs[i].body for i in positions], [jobs[i].scale for i in positions])
            for i, page in zip(positions, pages, strict=True):
                results[i] = page
        return results  # type: ignore[return-value]

    @property
    def runs(self) -> int:
        return sum(b.runs for b in self.backends.values())

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()
        self.backends.clear()
