"""The map engine: viewport math, layers, style, labels and fetching. Qt-free.

Painting lives in :mod:`app.map.qtpaint` (the only module here that imports Qt), and the
headless entry point in :mod:`app.map.render`.
"""
