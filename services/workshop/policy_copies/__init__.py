"""The workshop's copy of the brand's labour operations (flat hours), kept from network's events."""
