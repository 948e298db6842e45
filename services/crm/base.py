"""CRM's own SQLModel metadata."""
from sqlalchemy.orm import registry

from services.common.db import ServiceModel


class CrmModel(ServiceModel, registry=registry()):
    """Base of CRM's tables."""
