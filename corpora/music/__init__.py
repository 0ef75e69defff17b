"""Music as Humdrum **kern, offline: excerpts of the **kern files music21's corpus ships, a
procedural **kern generator, and user folders of ``.krn`` files.

GOT (Wei et al. 2024, "General OCR Theory", its OCR-2.0 data engine) renders **kern with Verovio
and cuts scores into single systems. This package does the text-level half of that:

* :mod:`.kern`: the Humdrum reader (:func:`~corpora.music.kern.parse_humdrum`) and the excerpts cut
  from a score (:meth:`~corpora.music.kern.KernScore.excerpt`);
* :mod:`.spines`: the columns and tokens of **kern: durations, notes, spine splits and joins, and
  the note count of a **kern text;
* :mod:`.tokens`: the grammar of a note and a barline, checked before Verovio reads them;
* :mod:`.library`: the corpora: music21's ``.krn`` files parsed once into a cache, and user
  folders of ``.krn`` files;
* :mod:`.generator`: new pieces written from random choices.
"""
