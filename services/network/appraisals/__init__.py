"""Monthly appraisal of each store's people, every role, from the KPI facts credited to them."""
