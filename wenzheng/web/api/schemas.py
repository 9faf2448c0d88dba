"""Request and response bodies of the JSON API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AgencyOut(Out):
    id: int
    slug: str
    name: str
    timezone: str
    place_countries: list[str]
    issuing_unit_code: str | None
    retention_days: int | None
    name_en: str | None
    created_at: dt.datetime


class AgencyIn(BaseModel):
    slug: str = Field(max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)


class IssuingUnitCodeIn(BaseModel):
    issuing_unit_code: str | None = Field(default=None, max_length=20)  # 14 digits; null or "" clears it


class EnglishNameIn(BaseModel):
    name_en: str | None = Field(default=None, max_length=200)  # null or "" clears it


class RetentionIn(BaseModel):
    retention_days: int | None = None  # 30 to 3650 days; null keeps personal data


class PlaceCountriesIn(BaseModel):
    place_countries: list[str]  # ISO 3166 alpha-2 codes; checked (and capped) by the action


class DepartmentOut(Out):
    id: int
    agency_id: int
    name: str
    description: str
    created_at: dt.datetime


class DepartmentIn(BaseModel):
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)


class DepartmentPatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)


class AccountOut(Out):
    id: int
    agency_id: int
    slug: str
    name: str
    description: str
    verified: bool
    verified_at: dt.datetime | None
    created_at: dt.datetime


class AccountIn(BaseModel):
    slug: str = Field(max_length=64)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)


class AccountPatch(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)


class VerificationIn(BaseModel):
    verified: bool


class NameChangeOut(Out):
    old_name: str
    new_name: str
    changed_at: dt.datetime


class StaffOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: str


class MeOut(BaseModel):
    user_id: int | None
    token_id: int | None
    username: str
    display_name: str
    is_platform_admin: bool
    roles: dict[int, str]


class AuditEventOut(Out):
    id: int
    action: str
    subject_type: str
    subject_id: int | None
    actor_user_id: int | None
    actor_token_id: int | None
    data: dict[str, object]
    created_at: dt.datetime
