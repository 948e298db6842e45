"""Plumbing shared by every service: events, outbox and inbox, database, identity,
errors, settings, logging and the clock. It imports no service."""
