from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class OnboardingItem(NetworkModel, table=True):
    """A checklist item (data/onboarding_checklist.json) done for a store; no row means not done."""

    __tablename__ = "onboarding_items"

    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), primary_key=True))
    item_code: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    completed_at: datetime = Field(sa_type=UTCDateTime)
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    completed_by: str
    completed_by_name: str | None = None
    completed_by_credential: str | None = None
    note: str | None = None
