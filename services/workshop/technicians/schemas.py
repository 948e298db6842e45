from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from services.common.inputs import MAX_VERSION
from services.common.pagination import Page
from services.common.reference import labor_operations

# 1,000 CNY an hour: above any wage with its on-costs, and what an INTEGER column holds many times over.
MAX_HOURLY_COST_FEN = 100_000
HOURLY_COST = ("what an hour of this technician costs the store (wage and on-costs), in fen; labour cost is this "
               "rate times the hours clocked")


def skill_categories() -> set[str]:
    return {op["category"] for op in labor_operations().values()}


def _check_skills(skills: list[str] | None) -> list[str] | None:
    if skills is None:
        return None
    known = skill_categories()
    unknown = sorted(set(skills) - known)
    if unknown:
        categories = ", ".join(sorted(known))
        raise ValueError(f"unknown skill(s) {', '.join(unknown)}; skills are operation categories: {categories}")
    return sorted(set(skills))


class TechnicianCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    skills: list[str] = Field(default_factory=list, max_length=50)
    principal_id: str | None = Field(default=None, min_length=1, max_length=64)
    store_id: str | None = Field(default=None, description="HQ callers name the store; store callers act in their own")
    hourly_cost_fen: int | None = Field(default=None, ge=0, le=MAX_HOURLY_COST_FEN, description=HOURLY_COST)

    @field_validator("skills")
    @classmethod
    def _known_skills(cls, value):
        return _check_skills(value)


class TechnicianUpdate(BaseModel):
    version: int = Field(ge=1, le=MAX_VERSION, description="the version you read; a stale one is 412")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    skills: list[str] | None = Field(default=None, max_length=50)
    principal_id: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None
    hourly_cost_fen: int | None = Field(default=None, ge=0, le=MAX_HOURLY_COST_FEN, description=HOURLY_COST)

    @field_validator("skills")
    @classmethod
    def _known_skills(cls, value):
        return _check_skills(value)


class TechnicianPublic(BaseModel):
    id: str
    store_id: str
    name: str
    skills: list[str]
    principal_id: str | None = None
    active: bool
    hourly_cost_fen: int | None = Field(default=None, description=HOURLY_COST + "; shown to those who may read "
                                        "order costs (managers, advisors, HQ) only")
    created_at: datetime
    updated_at: datetime
    version: int


TechnicianList = Page[TechnicianPublic]
