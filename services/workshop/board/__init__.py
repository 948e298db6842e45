"""The work-in-progress board: every open order of a store by state and age, and the
orders at risk of missing their promised time."""
