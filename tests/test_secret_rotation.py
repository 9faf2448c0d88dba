"""Changing WENZHENG_SECRET_KEY: with the old key in WENZHENG_PREVIOUS_SECRET_KEYS, what it sealed and signed still
opens; `wenzheng secrets reseal` moves the stored secrets to the new key, after which the old one can go."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import create_tenant
from tests.wechat.helpers import APP_SECRET, bind_wechat
from wenzheng.audit.models import AuditEvent
from wenzheng.channels.wechat.models import WeChatBinding
from wenzheng.cli import app
from wenzheng.config import reset_settings_cache
from wenzheng.errors import NotFound, Unavailable
from wenzheng.followers import links
from wenzheng.followers.confirmations import FollowRequest, confirm_token, request_of_link
from wenzheng.vault import seal, unseal

OLD, NEW, OTHER = "old-key-" + "o" * 40, "new-key-" + "n" * 40, "other-key-" + "x" * 40


Keys = Callable[..., None]


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Keys]:
    """Switch the secret key (and the previous ones) for the rest of a test."""

    def use(current: str, *previous: str) -> None:
        monkeypatch.setenv("WENZHENG_SECRET_KEY", current)
        monkeypatch.setenv("WENZHENG_PREVIOUS_SECRET_KEYS", ",".join(previous))
        reset_settings_cache()

    yield use
    monkeypatch.undo()
    reset_settings_cache()


def test_what_the_old_key_sealed_opens_while_it_is_listed_and_new_seals_use_the_new_key(keys: Keys) -> None:
    keys(OLD)
    sealed = seal("app-secret")
    keys(NEW, OLD)
    assert unseal(sealed) == "app-secret"
    fresh = seal("app-secret")
    keys(NEW)
    assert unseal(fresh) == "app-secret"
    with pytest.raises(Unavailable) as refused:
        unseal(sealed)
    assert refused.value.code == "secret_unreadable" and "WENZHENG_PREVIOUS_SECRET_KEYS" in refused.value.message


def test_links_in_mails_sent_before_the_change_keep_working_while_the_old_key_is_listed(
    db: Session, keys: Keys
) -> None:
    tenant = create_tenant(db, "keys")
    keys(OLD)
    mac = links.unsubscribe_token(41).partition(".")[2]
    confirmation = confirm_token(FollowRequest(tenant.account.id, "li.si@example.com"))
    keys(NEW, " " + OLD + " ")  # spaces around the list's items are not part of the keys
    assert links._valid_mac(mac, 41) and not links._valid_mac(mac, 42)
    assert request_of_link(tenant.account, confirmation).address == "li.si@example.com"
    keys(NEW)
    assert not links._valid_mac(mac, 41)
    with pytest.raises(NotFound):
        request_of_link(tenant.account, confirmation)


def test_reseal_moves_every_stored_secret_to_the_new_key_and_names_what_no_key_opens(db: Session, keys: Keys) -> None:
    keys(OLD)
    first = bind_wechat(db, create_tenant(db, "reseal-a").account)
    keys(OTHER)
    lost = bind_wechat(db, create_tenant(db, "reseal-b").account)
    db.commit()
    keys(NEW, OLD)

    result = CliRunner().invoke(app, ["secrets", "reseal"])

    assert result.exit_code == 1, result.output
    assert "resealed 1 stored secret(s)" in result.output
    assert f"cannot open the WeChat AppSecret of account {lost.account_id}" in result.output
    keys(NEW)
    db.expire_all()
    assert unseal(db.get_one(WeChatBinding, first.id).app_secret_encrypted) == APP_SECRET
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "cli:wechat_binding:reseal")).one()
    assert audit.subject_id == first.account_id
