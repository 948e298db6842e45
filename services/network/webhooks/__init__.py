"""Outlet webhooks: an outlet's system registers endpoints for the events it wants; network
signs each event and delivers it through an outbox of its own, retried, in order per aggregate."""
