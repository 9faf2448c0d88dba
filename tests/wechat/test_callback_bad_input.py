"""Bad pushes get a clear 4xx with a code and store nothing; a database outage is a 503, never a false success."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.wechat.callback_helpers import TOKEN, connect, next_msg_id
from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.bindings import forget_bindings
from wenzheng.channels.wechat.simulate import signed_push, text_xml
from wenzheng.citizens.models import Citizen
from wenzheng.db import make_engine
from wenzheng.messages.models import Message

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><Content>&lol3;</Content></xml>'
)
XXE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>'


def nothing_stored(db: Session) -> bool:
    messages = db.execute(select(func.count()).select_from(Message)).scalar_one()
    citizens = db.execute(select(func.count()).select_from(Citizen)).scalar_one()
    return messages == 0 and citizens == 0


def _signed_query(timestamp: int | None = None) -> str:
    stamp, nonce = str(timestamp or int(time.time())), "42"
    return f"signature={crypto.signature(TOKEN, stamp, nonce)}&timestamp={stamp}&nonce={nonce}"


def _xml() -> bytes:
    return text_xml("你好", openid="o_1", msg_id=next_msg_id()).encode()


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "bad_signature"),
        (f"signature={'a' * 40}&timestamp={int(time.time())}&nonce=1", "bad_signature"),
        ("TIMESTAMP_OLD", "replayed"),
    ],
)
def test_forged_missing_or_replayed_signatures_are_403(client: TestClient, db: Session, query: str, code: str) -> None:
    connected = connect(db, mode="plaintext")
    if query == "TIMESTAMP_OLD":
        query = _signed_query(int(time.time()) - 3600)
    response = client.post(f"{connected.url}?{query}", content=_xml())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == code
    assert nothing_stored(db)


def test_a_forged_msg_signature_is_403(client: TestClient, db: Session) -> None:
    connected = connect(db)
    query, body = signed_push(connected.credentials, _xml().decode(), encrypt=True)
    tampered = query.replace("msg_signature=", "msg_signature=0")
    response = client.post(f"{connected.url}?{tampered}", content=body)
    assert response.status_code == 403 and nothing_stored(db)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<xml><Content>unclosed", "malformed_xml"),
        (b"not xml at all", "malformed_xml"),
        (BILLION_LAUGHS.encode(), "xml_forbidden"),
        (XXE.encode(), "xml_forbidden"),
        (b"<xml><MsgType>text</MsgType></xml>", "malformed_push"),
        (b"<rss></rss>", "malformed_xml"),
    ],
)
def test_bad_xml_is_refused_with_a_code(client: TestClient, db: Session, body: bytes, code: str) -> None:
    connected = connect(db, mode="plaintext")
    response = client.post(f"{connected.url}?{_signed_query()}", content=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert nothing_stored(db)


def test_a_push_encrypted_with_an_unknown_key_is_refused(client: TestClient, db: Session) -> None:
    connected = connect(db)
    stranger = connected.credentials.__class__(
        token=TOKEN, app_id=connected.credentials.app_id, aes_key=crypto.generate_aes_key()
    )
    query, body = signed_push(stranger, _xml().decode(), encrypt=True)
    response = client.post(f"{connected.url}?{query}", content=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "undecryptable"
    assert nothing_stored(db)


def test_bodies_over_64_kib_are_refused(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    big = text_xml("长" * 30_000, openid="o_1", msg_id=next_msg_id()).encode()
    assert len(big) > 65_536
    response = client.post(f"{connected.url}?{_signed_query()}", content=big)
    assert response.status_code == 413 and nothing_stored(db)


def test_an_unknown_account_is_404(client: TestClient, db: Session) -> None:
    connect(db, mode="plaintext")
    response = client.post(f"/wechat/no-such-account?{_signed_query()}", content=_xml())
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_account"
    assert nothing_stored(db)


def test_database_down_is_503_never_success(client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    connected = connect(db, mode="plaintext")
    unreachable = make_engine(url="postgresql+psycopg://wenzheng@127.0.0.1:9/down", connect_args={"connect_timeout": 2})
    forget_bindings()
    monkeypatch.setattr("wenzheng.db._session_factory", sessionmaker(bind=unreachable))
    response = client.post(f"{connected.url}?{_signed_query()}", content=_xml())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response.text != "success"
    monkeypatch.undo()
    unreachable.dispose()
    assert nothing_stored(db)
