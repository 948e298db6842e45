"""Network's own SQLModel metadata."""
from sqlalchemy.orm import registry

from services.common.db import ServiceModel


class NetworkModel(ServiceModel, registry=registry()):
    """Base of network's tables."""
