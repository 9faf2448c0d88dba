"""``jurisdiction_id``: one endpoint serves every account on the platform, so each call names one.

The jurisdiction id is the account's slug (the name in ``/wechat/{slug}`` and ``/c/{slug}``). As the spec
asks of a multi-jurisdiction endpoint, it is required: 400 when missing, 404 when no account has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.channels.open311.errors import bad_request, not_found


@dataclass(frozen=True)
class Jurisdiction:
    account: Account
    agency: Agency

    @property
    def id(self) -> str:
        return self.account.slug

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.agency.timezone)


def jurisdiction_by_id(session: Session, jurisdiction_id: str | None) -> Jurisdiction:
    """The account (and its agency) a call is for."""
    if not jurisdiction_id:
        raise bad_request("jurisdiction_id is required: give the account's slug, e.g. jurisdiction_id=yaan-gov.")
    row = session.execute(
        select(Account, Agency)
        .join(Agency, Agency.id == Account.agency_id)
        .where(Account.slug == jurisdiction_id.strip().lower())
    ).one_or_none()
    if row is None:
        raise not_found(f"No jurisdiction {jurisdiction_id!r} here. Check the account's slug.")
    return Jurisdiction(account=row[0], agency=row[1])
