"""The accessory catalogue (data/accessories.json): what advisors sell beside the repair."""
