"""Catalogs of millions: embedding a product feed on a Ray cluster (the ``[scale]`` extra).

The engine never imports this package; it only reads what it writes (``engine.vectors_import``).
"""
