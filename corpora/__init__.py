"""Corpora: where renderers get their content. Each has an offline default that a registry
package ships (Debian's fortunes, RDKit's data files, ...) and accepts user files, read lazily
(:func:`corpora.indexed.open_corpus`)."""
