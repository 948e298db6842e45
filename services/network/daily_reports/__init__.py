"""A store's day in one page, signed off by its service manager; HQ sees which stores signed."""
