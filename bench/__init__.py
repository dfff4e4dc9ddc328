"""Benchmarks: the shared harness (harness.py, loadgen.py), the pretix runner and one bench_*.py per budget."""
