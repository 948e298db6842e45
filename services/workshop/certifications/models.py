from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.workshop.base import WorkshopModel


class CertificationCourse(WorkshopModel, table=True):
    """A course of network's, with the labour operations only a holder of its certification
    may be given: seeded from data/certifications.json, then kept by network.course.published."""

    __tablename__ = "certification_courses"

    course_code: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    name_zh: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    name_en: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    operations: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    revision: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("1")))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class StaffCertification(WorkshopModel, table=True):
    """A person's certificate as network's events told it: valid from issued_on through
    expires_on unless revoked, checked against the workshop's own clock."""

    __tablename__ = "staff_certifications"
    __table_args__ = (sa.Index("ix_staff_certifications_person", "person_id", "course_code"),)

    certification_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    person_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    course_code: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    certificate_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    issued_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    expires_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
