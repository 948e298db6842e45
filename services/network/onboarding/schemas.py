from datetime import datetime

from pydantic import BaseModel, Field


class ChecklistItem(BaseModel):
    code: str
    title: str
    done: bool
    completed_at: datetime | None = None
    completed_by: str | None = Field(default=None, description="the person who ticked it off (for a machine's own "
                                                               "key, the key's id)")
    completed_by_name: str | None = Field(default=None, description="their name when they ticked it off")
    completed_by_credential: str | None = Field(
        default=None, description='the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; '
                                  'null where it was not recorded')
    note: str | None = None


class Checklist(BaseModel):
    store_id: str
    store_status: str
    complete: bool
    checklist_version: int | None = Field(default=None, description=(
        "the onboarding checklist's version the outlet follows: the one in force on the day (China time) it "
        "applied, else the day its store was made"))
    items: list[ChecklistItem]


class ItemComplete(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
