"""The staff's OpenID Connect provider: a local Keycloak (keycloak.py). Network's client of its admin API is
services/network/people/accounts.py."""
