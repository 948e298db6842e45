"""The store's copies of the brand's labour operations and parts prices, kept from network's events."""
