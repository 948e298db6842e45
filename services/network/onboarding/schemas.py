from datetime import datetime

from pydantic import BaseModel, Field


class ChecklistItem(BaseModel):
    code: str
    title: str
    done: bool
    completed_at: datetime | None = None
    completed_by: str | None = None
    note: str | None = None


class Checklist(BaseModel):
    store_id: str
    store_status: str
    complete: bool
    items: list[ChecklistItem]


class ItemComplete(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
