"""Regions and their areas, where each store sits over time, and the managers of each region."""
