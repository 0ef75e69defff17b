"""Renderers: plugins that turn corpus items into (image, markup) samples.

Each renderer is one module registered under the entry-point group ``gotforge.renderers``
(see ``pyproject.toml``); the contract lives in :mod:`renderers.base`, the registry in
:mod:`renderers.registry`.
"""
