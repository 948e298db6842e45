"""Targets: each store's year from HQ, split by the store into months and people, and their attainment."""
