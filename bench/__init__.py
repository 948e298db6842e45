"""Benchmarks (`make bench`): figures measured side by side in one run, as JSON under
bench/results/ and a table in docs/performance.md. Not tests: nothing here asserts."""
