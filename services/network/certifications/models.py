from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.network.base import NetworkModel


class Course(NetworkModel, table=True):
    """A course the brand certifies staff in (data/certifications.json seeds the first ones)."""

    __tablename__ = "courses"

    code: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    name_zh: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    name_en: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    validity_months: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    # The labour operations only a holder of this course's certification may be given.
    operations: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    # People of HQ (the brand's trainers) who may grant this course besides hq_admin.
    trainer_person_ids: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    source: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # What network.course.published carries: 1 when added (or seeded), one more on each change.
    revision: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    # The ETag / If-Match counter, one more on each change, as on network's other objects.
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    # When it was last published: the workshop keeps a course's newest word by the event's
    # time, so a later revision is never dated before an earlier one.
    published_at: datetime = Field(sa_type=UTCDateTime)


class StoreRequirement(NetworkModel, table=True):
    """Certified people every store of a kind must have: `people` persons holding `role` in
    the store, each with a valid certification in `course_code`. Seeded from
    data/certifications.json (migration 0022); HQ replaces a kind's set with PUT
    /v1/certification-requirements/{store_kind}."""

    __tablename__ = "store_certification_requirements"
    __table_args__ = (sa.UniqueConstraint("store_kind", "role", "course_code", name="uq_store_cert_requirements"),
                      sa.CheckConstraint("people >= 1", name="ck_store_cert_requirements_people"))

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # a StoreKindRule
    role: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # a StaffRole
    course_code: str = Field(sa_column=sa.Column(sa.String(16), sa.ForeignKey("courses.code"), nullable=False))
    source: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # How many such people the store needs (HQ sets it; 1 for the rules the data file seeded).
    people: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))


class Certification(NetworkModel, table=True):
    """A person's certificate in one course: valid from issued_on through expires_on (the
    group's calendar), unless revoked."""

    __tablename__ = "certifications"
    __table_args__ = (
        sa.UniqueConstraint("course_code", "certificate_no", name="uq_certifications_course_number"),
        sa.Index("ix_certifications_person", "person_id", "course_code"),
        sa.Index("ix_certifications_expires", "expires_on"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    person_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("people.id"), nullable=False))
    course_code: str = Field(sa_column=sa.Column(sa.String(16), sa.ForeignKey("courses.code"), nullable=False))
    certificate_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    issued_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    expires_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    granted_at: datetime = Field(sa_type=UTCDateTime)
    granted_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    granted_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    revoked_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    revoke_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    version: int = 1
