"""The event catalogue: every event type of the platform, one pydantic model each.
Importing this package registers all of them in `services.common.events.catalogue`."""
from ..envelope import catalogue
from . import crm, network, reception, workshop  # noqa: F401  (registration)

__all__ = ["catalogue"]
