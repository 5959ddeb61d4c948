"""Benchmarks run on demand (``landrec bench …``), not in the test suite's time budget."""
