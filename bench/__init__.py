"""Benchmarks: one module per question, each printing a table and writing JSON + markdown.

Run them with ``decorlens bench [latency|ceiling|import|index|startup|all] [--quick]`` or
``python -m bench.<module>``. Every report records the machine next to its numbers and measures its
reference in the same run; see ``docs/benchmarks/README.md``.
"""
