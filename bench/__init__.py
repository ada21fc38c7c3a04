"""Benchmarks: how fast and how lean craftbot is (`make bench`); they print figures and assert
nothing about time."""
