"""Reception's own SQLModel metadata."""
from sqlalchemy.orm import registry

from services.common.db import ServiceModel


class ReceptionModel(ServiceModel, registry=registry()):
    """Base of reception's tables."""
