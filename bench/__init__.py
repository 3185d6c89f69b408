"""Benchmarks of `make bench` (`python -m bench.run`): results in bench/results.json and
docs/benchmarks.md. Working files go to bench/out/ (ignored by git, never shipped)."""
