"""Benchmarks: scripts that print tables of figures (never asserted in tests)."""
