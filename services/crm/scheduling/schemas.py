from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str | None = Field(default=None, description="HQ: one store; without it every active store")


class StoreRun(BaseModel):
    store_id: str
    run_date: date = Field(description="the store's own day the run belongs to")
    runs_today: int
    result: dict[str, Any]


class JobRunResult(BaseModel):
    job: str
    trigger: str
    ran_at: datetime
    stores: list[StoreRun]


class LastRun(BaseModel):
    store_id: str
    run_date: date
    runs: int
    last_run_at: datetime
    last_trigger: str
    last_run_by: str | None = Field(default=None, description='the person who started it by hand (for a machine\'s '
                                                             'own key, the key\'s id), or "scheduler"')
    last_run_by_name: str | None = Field(default=None, description="their name then")
    last_run_by_credential: str | None = Field(
        default=None, description='the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null for the '
                                  'scheduler and where it was not recorded')
    result: dict[str, Any]


class JobPublic(BaseModel):
    name: str
    description: str
    schedule: str
    last_runs: list[LastRun]


class JobList(BaseModel):
    items: list[JobPublic]
    next_cursor: str | None = None
