"""Degradation for every renderer: a clean sample made to look as a scanner, a photocopier, a fax or
a phone camera would give it back.

Entry point: ``augment(sample, preset, rng) -> Sample``, a pure function of the
``numpy.random.Generator`` (the same generator state gives the same bytes). A render config names
presets by weight per renderer (``augment: {scan: 2, camera: 1, clean: 1}``): check it with
:func:`check_weights` when the config is read, and call :func:`augment_mix` after ``render`` and
the renderer's ``validate`` (which checks the clean page against its own pixel-level meta).

* **Presets** (:data:`PRESETS`, tables in :mod:`renderers.augment.presets`): ``clean`` (nothing),
  ``scan``, ``photocopy``, ``fax``, ``camera``. Each is a list of steps: an operation, the chance
  it runs, ranges for its parameters.
* **Operations**, one small class each, grouped by kind: :mod:`~renderers.augment.geometry`
  (rotate, shear, perspective), :mod:`~renderers.augment.paper` (paper texture, ink fade, ink bleed,
  levels, tint), :mod:`~renderers.augment.noise` (noise, speckle, streaks, blur, motion blur),
  :mod:`~renderers.augment.compression` (JPEG, resample, grey, binarize),
  :mod:`~renderers.augment.lighting` (gradient, vignette, shadow, fold). As in SynthTIGER, an
  operation first samples its parameters into a record, then applies the record.
* **The record**: ``meta["augment"] = {preset, ops: [{op, parameters…}], matrix?, clean_box?}``:
  every operation that ran, with its parameters, and every one refused, with ``refused: reason``.
  :func:`apply_record` replays it. ``matrix`` (one 3×3 per page) maps clean pixel coordinates to
  output ones when the page moved, so a renderer's own pixel-level meta (line boxes) can be mapped.
* **Labels stay true.** Geometric operations map a box-guided sample's ``box`` (the box of its
  mapped corners, rounded outwards on the 0-1000 scale; the clean one kept as ``clean_box``). A
  geometric operation is refused when it would carry ink out of the frame, cut the box, or (where
  the meta has ``line_boxes``, as text-page's has) move a line's centre across the box's edge
  (without line boxes: when the box would grow more than a couple of pixels a side). Operations
  that change hue (grey, binarize, tint) are refused on colour-guided samples. A multi-page sample
  gets one record: the same parameters on every page, a texture of its own per page.
* **Images**: RGB or L; a page that arrives as a paper-to-ink palette (text-page's) is degraded as
  one channel of tones and leaves as a palette image again (the same colours, a third of the work,
  and the engine's fast palette PNG). ``png`` is dropped whenever a pixel changed.

Library choice: numpy, Pillow and OpenCV (``opencv-python-headless``, Apache-2.0), written here.

* OpenCV gives every primitive needed in C++ on uint8 planes (warps, blurs, morphology, lookup
  tables, saturating arithmetic, JPEG round trips, thresholds), fast enough for the ``scan`` preset
  to stay within its budget beside a text page's render time on one core
  (``python -m pipelines.bench.augment`` measures each preset). Headless wheels exist for every
  platform and Python in use, with no GUI or system libraries.
* Augraphy (MIT) is document-specific and closest in intent, but its last release dates from 2023,
  several of its effects run below one image a second on a page, and it draws from NumPy's and
  Python's global random state, which breaks per-sample determinism.
* Albumentations: its MIT line is no longer maintained and its successor is AGPL; its effects are
  photographic (few are document-like), and labels are boxes of objects, not GOT's region boxes.
* Kornia needs torch on the render path and is built for batches of tensors on an accelerator,
  not single pages on CPU workers.
* Writing the operations keeps the record: each parameter drawn from the sample's generator and
  stored, which no library above offers as a whole.
"""

from renderers.augment.pipeline import (
    OPS,
    apply_record,
    augment,
    augment_mix,
    augment_steps,
    check_weights,
    pick_preset,
)
from renderers.augment.presets import PRESETS, Step, step
from renderers.augment.preview import preview_grid

__all__ = [
    "OPS", "PRESETS", "Step", "apply_record", "augment", "augment_mix", "augment_steps", "check_weights",
    "pick_preset", "preview_grid", "step",
]
