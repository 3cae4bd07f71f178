"""Benchmarks: how tfgen's cost grows with the organisation (`make bench`)."""
