"""The staff's OpenID Connect provider: a local Keycloak (keycloak.py) and the directory's client of its admin API
(provisioning.py)."""
