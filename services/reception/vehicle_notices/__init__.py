"""What the advisor must know of a car before work starts: its open recall and service
campaigns and its Three Guarantees (三包) standing, kept from network's events."""
