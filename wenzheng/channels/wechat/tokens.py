"""One access token per account, kept in ``wechat_access_tokens`` and shared by every process.

Obtained from ``POST /cgi-bin/stable_token``. Exactly one process refreshes at a time:

* PostgreSQL: the refresher locks the account's token row (``SELECT ... FOR UPDATE``) in its own
  short transaction, checks again whether the token is fresh now that it holds the lock (another
  process may have just refreshed it), and only then calls WeChat and commits.
* SQLite: every transaction begins with ``BEGIN IMMEDIATE`` and so holds the database's write lock;
  the read, the check and the refresh happen in the caller's transaction and are serialised by that
  lock. (A second transaction of our own would wait on the caller's lock: a deadlock.)

A token is refreshed before it is needed once less than five minutes of it are left, and after
WeChat rejects it (40001 / 40014 / 42001): only if the stored token is still the one that failed
(a compare-and-swap, so that a late failure never throws away a token another process just got),
then the call is retried once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.wechat import api
from wenzheng.channels.wechat.errors import AccessTokenRejected, WeChatNotConfigured
from wenzheng.channels.wechat.models import WeChatAccessToken, WeChatBinding
from wenzheng.db import rowcount, utcnow
from wenzheng.vault import unseal

T = TypeVar("T")

# stable_token renews a token in its last five minutes; asking earlier than that returns the same one.
REFRESH_MARGIN = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Credentials:
    agency_id: int
    account_id: int
    app_id: str
    secret: str


def call_with_token(session: Session, account: Account, call: Callable[[str], T]) -> T:
    """Run ``call(access_token)``; when WeChat rejects the token, refresh it once and retry once."""
    token = access_token(session, account)
    try:
        return call(token)
    except AccessTokenRejected:
        invalidate_token(session, account, token)
        return call(access_token(session, account, rejected=token))


def access_token(session: Session, account: Account, *, rejected: str | None = None) -> str:
    """The account's valid token, refreshed first when missing, stale or invalidated.

    ``rejected`` is a token WeChat just refused: if stable_token hands back that same token, it is
    forced to issue a new one.
    """
    if _is_sqlite(session):
        return _current_or_refreshed(session, account.id, rejected)
    with _own_session(session) as own:
        row = own.scalars(_token_query(account.id)).first()
        if row is not None and _is_fresh(row, rejected):
            return row.access_token
        token = _current_or_refreshed(own, account.id, rejected)
        own.commit()
    return token


def invalidate_token(session: Session, account: Account, failing: str) -> bool:
    """Mark the stored token stale if it is still ``failing``; False when someone already replaced it."""
    statement = (
        update(WeChatAccessToken)
        .where(WeChatAccessToken.account_id == account.id, WeChatAccessToken.access_token == failing)
        .values(expires_at=None)
    )
    if _is_sqlite(session):
        return rowcount(session.execute(statement)) > 0
    with _own_session(session) as own:
        changed = rowcount(own.execute(statement)) > 0
        own.commit()
    return changed


def credentials_for(session: Session, account_id: int) -> Credentials:
    """The account's AppID and AppSecret, or WeChatNotConfigured."""
    binding = binding_for(session, account_id)
    return Credentials(binding.agency_id, account_id, binding.app_id, unseal(binding.app_secret_encrypted))


def binding_for(session: Session, account_id: int, *, lock: bool = False) -> WeChatBinding:
    """The account's WeChat binding with its AppID and AppSecret (``lock``: FOR UPDATE); else WeChatNotConfigured."""
    query = select(WeChatBinding).where(WeChatBinding.account_id == account_id)
    binding = session.scalars(query.with_for_update() if lock else query).first()
    if binding is None or not binding.app_id or not binding.app_secret_encrypted:
        raise WeChatNotConfigured(
            "This account has no WeChat AppID and AppSecret yet — enter them in the account's WeChat settings "
            "(WeChat admin console → 设置与开发 → 基本配置)."
        )
    return binding


def _current_or_refreshed(session: Session, account_id: int, rejected: str | None) -> str:
    """Inside ``session``'s transaction: lock the row, and refresh unless it is (now) fresh."""
    credentials = credentials_for(session, account_id)
    row = _locked_row(session, credentials)
    if _is_fresh(row, rejected):
        return row.access_token
    grant = api.stable_token(credentials.app_id, credentials.secret)
    if grant.access_token == rejected:
        grant = api.stable_token(credentials.app_id, credentials.secret, force_refresh=True)
    now = utcnow()
    row.access_token = grant.access_token
    row.expires_at = now + dt.timedelta(seconds=grant.expires_in)
    row.refreshed_at = now
    row.refresh_count += 1
    session.flush()
    return row.access_token


def _locked_row(session: Session, credentials: Credentials) -> WeChatAccessToken:
    """The account's token row, created empty if missing, locked until the transaction ends."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(WeChatAccessToken).values(
        agency_id=credentials.agency_id, account_id=credentials.account_id, access_token="", refresh_count=0
    )
    session.execute(insert.on_conflict_do_nothing(index_elements=["account_id"]))
    return session.scalars(_token_query(credentials.account_id).with_for_update()).one()


def _token_query(account_id: int) -> Select[tuple[WeChatAccessToken]]:
    return (
        select(WeChatAccessToken)
        .where(WeChatAccessToken.account_id == account_id)
        .execution_options(populate_existing=True)
    )


def _is_fresh(row: WeChatAccessToken, rejected: str | None) -> bool:
    if not row.access_token or row.expires_at is None or row.access_token == rejected:
        return False
    return row.expires_at - utcnow() > REFRESH_MARGIN


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _own_session(session: Session) -> Session:
    # The caller's engine, but always in real transactions (the tests' arranging session is autocommit).
    bind = session.get_bind().execution_options(isolation_level="READ COMMITTED")
    return Session(bind=bind, expire_on_commit=False)
