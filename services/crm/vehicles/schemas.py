from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from services.common.inputs import Day


class NewOwner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=5, max_length=32)


class TransferCreate(BaseModel):
    """The contract's names (`papers_ref`, `transferred_on`) and the first ones (`papers_reference`,
    `transfer_date`) are both taken."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    new_owner: NewOwner
    papers_reference: str = Field(min_length=1, max_length=100,
                                  validation_alias=AliasChoices("papers_ref", "papers_reference"),
                                  description="`papers_ref`: the transfer papers' number (机动车登记证书 / 过户凭证)")
    transfer_date: Day = Field(validation_alias=AliasChoices("transferred_on", "transfer_date"),
                               description="`transferred_on`: the date on the papers")
    reason: str | None = Field(default=None, max_length=2000, description="e.g. sold privately, inherited")


class TransferPublic(BaseModel):
    id: str
    vin: str
    store_id: str = Field(description="the car's home store, where the transfer was recorded")
    from_customer_id: str = Field(description="the old owner, who keeps their history")
    to_customer_id: str = Field(description="the new owner, who gets the car")
    papers_reference: str
    transfer_date: Day
    reason: str | None = None
    reminders_moved: int = Field(description="open maintenance reminders of the car now addressed to the new owner")
    transferred_at: datetime
    transferred_by: str = Field(description="the person (for a machine's own key, the key's id)")
    transferred_by_name: str | None = None
    transferred_by_credential: str | None = Field(default=None, description='"key:<key id>" or "token:<sign-in>"')
