"""Benchmarks: the shared harness (harness.py), the baseline app and one bench_*.py per feature."""
