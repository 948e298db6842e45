"""Ownership transfer (过户) of a car CRM knows: the new owner gets the car and whatever CRM
would say about it from then on; the old owner keeps their own history."""
