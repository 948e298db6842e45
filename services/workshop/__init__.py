"""Workshop and parts: technicians, jobs from approved repair orders, clocked labour, quality check, rework and
comebacks; parts catalogue, per-store stock, reservations, issue, returns, reorder and purchase orders."""
