from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from services.common.inputs import Day

# A VIN has 17 characters and never the letters I, O or Q (ISO 3779, GB 16735).
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"


class Input(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt optional field is an error, not silence."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refusing it here keeps it a 422 instead of a 500.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain NUL characters")
        return value


class Customer(Input):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=5, max_length=20, pattern=r"^\+?[0-9][0-9 \-]{3,18}[0-9]$")


class Vehicle(Input):
    vin: str = Field(min_length=17, max_length=17, description="17 characters; letters I, O and Q are not used")
    plate: str | None = Field(default=None, min_length=1, max_length=16)
    model: str | None = Field(default=None, min_length=1, max_length=100)
    sold_at: Day | None = Field(
        default=None, description="date of first sale; starts warranty and maintenance schedule"
    )

    @field_validator("vin", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("vin")
    @classmethod
    def _valid_vin(cls, value: str) -> str:
        import re

        if not re.fullmatch(VIN_PATTERN, value):
            raise ValueError("a VIN is 17 letters and digits, without I, O or Q")
        return value


class Actor(BaseModel):
    """Who did it: the person (for a machine's own key, the key), and the key or sign-in used."""

    id: str
    name: str = ""
    role: str = ""
    credential: str | None = Field(default=None, description='"key:<key id>" or "token:<sign-in>"; null where it '
                                                             "was not recorded or a service acted on an event")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def person_id(self) -> str:
        """The staff directory's person: the same as `id`, named as every who-field names it."""
        return self.id


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    by: Actor
    detail: dict[str, Any] = Field(default_factory=dict)
