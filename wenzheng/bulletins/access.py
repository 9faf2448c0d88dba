"""The one way to reach bulletins: staff through their agencies, the public only to what was published."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.bulletins.models import Bulletin, BulletinState
from wenzheng.errors import NotFound
from wenzheng.staff.actor import Actor


def bulletin_for(session: Session, actor: Actor, bulletin_id: int, *, lock: bool = False) -> Bulletin:
    """A bulletin of one of the actor's agencies (any state); NotFound for every other id."""
    query = select(Bulletin).where(Bulletin.id == bulletin_id)
    if lock:
        query = query.with_for_update()
    bulletin = session.execute(query).scalar_one_or_none()
    if bulletin is None or not actor.can_see(bulletin.agency_id):
        raise NotFound("No such bulletin.")
    return bulletin


def bulletins_of_account(session: Session, account_id: int, *, limit: int = 200) -> list[Bulletin]:
    """Every bulletin of an account, newest first (the console's list; the caller checked the account)."""
    query = select(Bulletin).where(Bulletin.account_id == account_id).order_by(Bulletin.id.desc()).limit(limit)
    return list(session.execute(query).scalars())


def published_bulletins(
    session: Session, account_id: int, *, limit: int = 50, kind: str | None = None
) -> list[Bulletin]:
    """What the public may read: bulletins that started going out, newest first (citizen page, feeds)."""
    query = (
        select(Bulletin)
        .where(Bulletin.account_id == account_id)
        .where(Bulletin.state.in_(BulletinState.PUBLISHED))
        .order_by(Bulletin.started_at.desc(), Bulletin.id.desc())
        .limit(limit)
    )
    if kind is not None:
        query = query.where(Bulletin.kind == kind)
    return list(session.execute(query).scalars())


def published_bulletin(session: Session, account_id: int, bulletin_id: int) -> Bulletin:
    """One published bulletin of the account; NotFound for drafts, pending ones and other accounts' ids."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None or bulletin.account_id != account_id or bulletin.state not in BulletinState.PUBLISHED:
        raise NotFound("No such bulletin.")
    return bulletin
