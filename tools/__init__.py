"""Tools that drive the platform through its public API: the demo filler and the
shared client used by end-to-end tests, fault drills and benchmarks."""
