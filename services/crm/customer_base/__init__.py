"""Each service advisor's customer base: the cars whose last visit they served, and what
becomes of them when the advisor leaves."""
