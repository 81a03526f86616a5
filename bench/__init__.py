"""Benchmarks (not tests): each prints its figures; run_all.py writes the table."""
