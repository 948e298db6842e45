"""The Three Guarantees watch (三包): per VIN, the repairs that count towards the regulation's
replacement and refund thresholds, alerts one step before them, the loaner owed."""
