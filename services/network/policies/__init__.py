"""Policies HQ changes by version, each taking effect on a day: warranty policy, labour operations."""
