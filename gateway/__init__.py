"""The gateway: the platform's only public entry (API keys, roles, limits, signed identity, merged contract,
HQ dashboard)."""
