"""What the reception areas share: history of state changes, number counters, the acting
store, money rounding and the wire shapes of customer and vehicle."""
