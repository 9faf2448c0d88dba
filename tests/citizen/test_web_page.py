"""The citizen page through HTTP, as a browser without JavaScript would use it."""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, create_tenant
from tests.sms.conftest import Gateway
from wenzheng.attachments.store import get_store
from wenzheng.channels.sms.actions import do_set_sms_number
from wenzheng.channels.sms.gateway import sign
from wenzheng.config import reset_settings_cache
from wenzheng.followers.models import Follower
from wenzheng.messages.models import Attachment, Direction, Message

FORM_ID = "form-0123456789abcdef"


def _account(db: Session) -> str:
    return create_tenant(db, "w").account.slug


def send(
    client: TestClient,
    slug: str,
    *,
    text: str = "龙门乡青龙场村房屋倒塌，三人被困",
    form_id: str = FORM_ID,
    photo: bytes | None = None,
    **fields: str,
):  # type: ignore[no-untyped-def]
    data = {"kind": "help", "text": text, "form_id": form_id, **fields}
    files = {"photo": ("photo.jpg", photo, "image/jpeg")} if photo is not None else None
    return client.post(
        f"/c/{slug}/messages", data=data, files=files, follow_redirects=False, headers={"Accept": "application/json"}
    )


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 9.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def count(db: Session, model: type = Message) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_page_is_light_and_self_contained(client: TestClient, db: Session) -> None:
    slug = _account(db)
    page = client.get(f"/c/{slug}")
    assert page.status_code == 200 and "写信给我们" in page.text
    assert len(page.content) < 60 * 1024
    assert not re.search(r'(src|href)="https?://', page.text), "no external assets or fonts"
    assert 'name="website"' in page.text  # the honeypot


def test_sending_gives_a_reference_and_a_private_status_link(client: TestClient, db: Session) -> None:
    slug = _account(db)
    response = send(client, slug, phone="138 0013 8000", latitude="30.0156", longitude="102.9916", address="青龙场村")
    assert response.status_code == 303
    status_path = response.headers["location"].split("?")[0]
    page = client.get(status_path)
    message = db.execute(select(Message)).scalar_one()
    assert message.ref in page.text and "龙门乡青龙场村房屋倒塌" in page.text
    assert (message.requested_kind, message.latitude, message.location_label) == ("help", 30.0156, "青龙场村")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get(status_path[:-3] + "xyz").status_code == 404


def test_a_resent_form_is_stored_once_and_leads_to_the_same_link(client: TestClient, db: Session) -> None:
    slug = _account(db)
    first, again = send(client, slug), send(client, slug)
    assert first.headers["location"] == again.headers["location"]
    assert count(db) == 1


def test_follow_ups_join_the_conversation(client: TestClient, db: Session) -> None:
    slug = _account(db)
    status_path = send(client, slug).headers["location"].split("?")[0]
    client.post(f"{status_path}/follow-up", data={"text": "又有一人受伤", "form_id": "form-follow-up-000001"})
    page = client.get(status_path)
    assert "又有一人受伤" in page.text
    first, follow_up = db.execute(select(Message).order_by(Message.id)).scalars().all()
    assert follow_up.parent_id == first.id and follow_up.citizen_id == first.citizen_id


def test_photos_are_checked_and_kept_without_exif(client: TestClient, db: Session) -> None:
    slug = _account(db)
    assert send(client, slug, photo=jpeg_with_gps()).status_code == 303
    attachment = db.execute(select(Attachment)).scalar_one()
    with get_store().open(attachment.sha256 or "") as stored:
        kept = Image.open(io.BytesIO(stored.read()))
        assert kept.format == "JPEG" and not kept.getexif()
    fake = send(client, slug, photo=b"MZ\x90\x00 not a picture at all", form_id="form-fake-photo-00001")
    assert fake.status_code == 422 and fake.json()["error"]["code"] == "not_an_image"
    assert count(db) == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"latitude": "91", "longitude": "10"}, "invalid_coordinates"),
        ({"latitude": "abc", "longitude": "10"}, "invalid_coordinates"),
        ({"website": "http://spam.example"}, "looks_automated"),
        ({"phone": "12"}, "invalid_phone"),
        ({"kind": "nonsense"}, "invalid_kind"),
        ({"text": ""}, "field_required"),
        ({"form_id": "x"}, "missing_form_id"),
    ],
)
def test_bad_forms_are_refused_and_nothing_is_stored(
    client: TestClient, db: Session, fields: dict[str, str], code: str
) -> None:
    slug = _account(db)
    data = {"kind": "help", "text": "有人受伤", "form_id": FORM_ID, **fields}
    response = client.post(f"/c/{slug}/messages", data=data, headers={"Accept": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] == code
    assert count(db) == 0


def test_unknown_accounts_and_oversized_forms(client: TestClient, db: Session) -> None:
    _account(db)
    assert client.get("/c/nowhere").status_code == 404
    huge = client.post(
        "/c/nowhere/messages",
        content=b"x" * (9 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413


def test_rate_limits_per_address_and_per_phone(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = _account(db)
    monkeypatch.setenv("WENZHENG_WEB_MAX_MESSAGES_PER_PHONE_PER_HOUR", "2")
    monkeypatch.setenv("WENZHENG_WEB_MAX_MESSAGES_PER_ADDRESS_PER_HOUR", "3")
    reset_settings_cache()
    try:
        assert send(client, slug, form_id="form-rate-limit-00001", phone="13800138000").status_code == 303
        assert send(client, slug, form_id="form-rate-limit-00002", phone="13800138000").status_code == 303
        by_phone = send(client, slug, form_id="form-rate-limit-00003", phone="13800138000")
        assert by_phone.status_code == 429
        assert send(client, slug, form_id="form-rate-limit-00004").status_code == 303
        by_address = send(client, slug, form_id="form-rate-limit-00005")
        assert by_address.status_code == 429 and "110" in by_address.text
        assert count(db) == 3
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_one_citizen_by_sms_and_by_the_web_page(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "x")
    do_set_sms_number(db, SYSTEM, tenant.account, number="12345")
    body = urlencode({"From": "13800138000", "To": "12345", "Body": "短信求助", "MessageId": "sms-1"}).encode()
    client.post(
        "/sms/inbound",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Wenzheng-Signature": sign(body)},
    )
    send(client, tenant.account.slug, phone="+86 138 0013 8000", text="网页补充")
    citizens = set(db.execute(select(Message.citizen_id).where(Message.direction == Direction.INBOUND)).scalars())
    assert len(citizens) == 1


def _sms_account(db: Session) -> str:
    tenant = create_tenant(db, "w")
    do_set_sms_number(db, SYSTEM, tenant.account, number="10659020")
    return tenant.account.slug


def _texted_code(gateway: Gateway, number: str) -> str:
    [sms] = [m for m in gateway.sent if m["to"] == number]
    match = re.search(r"确认码：(\d{6})", sms["text"])
    assert match, sms["text"]
    return match.group(1)


def test_following_by_phone_with_a_county_and_a_county_that_is_not_one(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    slug = _sms_account(db)
    assert 'name="place"' in client.get(f"/c/{slug}").text
    json = {"Accept": "application/json"}
    ambiguous = client.post(f"/c/{slug}/follow", data={"phone": "13900139001", "place": "朝阳"}, headers=json)
    assert ambiguous.status_code == 422 and ambiguous.json()["error"]["code"] == "region_ambiguous"
    assert "北京市 朝阳区" in ambiguous.json()["error"]["message"]
    unknown = client.post(f"/c/{slug}/follow", data={"phone": "13900139001", "place": "不存在县"}, headers=json)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "region_unknown"
    assert not gateway.sent  # nothing half-done: no code texted for a refused form

    asked = client.post(f"/c/{slug}/follow", data={"phone": "13900139001", "place": "雅安宝兴"})
    assert asked.status_code == 200 and "+86139****9001" in asked.text and 'name="code"' in asked.text
    assert db.execute(select(Follower)).scalar_one_or_none() is None  # not before the code
    code = _texted_code(gateway, "+8613900139001")
    form = {"phone": "+8613900139001", "place": "雅安宝兴", "code": code}
    response = client.post(f"/c/{slug}/confirm-follow", data=form, follow_redirects=True)
    assert "已关注" in response.text
    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.handle, follower.region_code, follower.state) == ("+8613900139001", "511827", "following")


def test_following_by_phone_needs_the_code_texted_to_that_number(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    slug = _sms_account(db)
    client.post(f"/c/{slug}/follow", data={"phone": "13900139000"})
    client.post(f"/c/{slug}/follow", data={"phone": "13900139009"})
    code = _texted_code(gateway, "+8613900139000")
    json = {"Accept": "application/json"}

    for phone, typed in (("13900139009", code), ("13900139000", "000000" if code != "000000" else "111111")):
        wrong = client.post(f"/c/{slug}/confirm-follow", data={"phone": phone, "code": typed}, headers=json)
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_code"
    assert db.execute(select(Follower)).scalar_one_or_none() is None

    right = client.post(f"/c/{slug}/confirm-follow", data={"phone": "139 0013 9000", "code": code[:3] + " " + code[3:]})
    assert right.status_code == 200 and "已关注" in right.text
    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.channel, follower.handle, follower.state) == ("sms", "+8613900139000", "following")
    assert follower.language is None  # the page was in Chinese


def test_a_number_signed_up_on_the_page_in_english_gets_english_bulletins(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    slug = _sms_account(db)
    home = client.get(f"/c/{slug}?lang=en")
    assert f'action="/c/{slug}/follow?lang=en"' in home.text  # the form carries the page's language on
    asked = client.post(f"/c/{slug}/follow?lang=en", data={"phone": "13900139005"})
    assert f'action="/c/{slug}/confirm-follow?lang=en"' in asked.text
    code = _texted_code(gateway, "+8613900139005")

    done = client.post(f"/c/{slug}/confirm-follow?lang=en", data={"phone": "13900139005", "code": code})
    assert "Followed: bulletins will come to you by SMS." in done.text  # the page stays in English

    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.handle, follower.language) == ("+8613900139005", "en")


def test_wrong_codes_for_one_number_stop_after_ten_in_an_hour_and_codes_after_five(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    slug = _sms_account(db)
    json = {"Accept": "application/json"}
    codes = [client.post(f"/c/{slug}/follow", data={"phone": "13900139007"}, headers=json) for _ in range(6)]
    assert [r.status_code for r in codes] == [200] * 5 + [429] and len(gateway.sent) == 5
    answers = [
        client.post(f"/c/{slug}/confirm-follow", data={"phone": "13900139007", "code": "999999"}, headers=json)
        for _ in range(11)
    ]
    assert [a.json()["error"]["code"] for a in answers] == ["wrong_code"] * 10 + ["too_many_messages"]
    right = _texted_code_latest(gateway, "+8613900139007")
    blocked = client.post(f"/c/{slug}/confirm-follow", data={"phone": "13900139007", "code": right}, headers=json)
    assert blocked.status_code == 429  # even the right code, once the number's tries are spent
    assert db.execute(select(Follower)).scalar_one_or_none() is None


def _texted_code_latest(gateway: Gateway, number: str) -> str:
    texts = [m["text"] for m in gateway.sent if m["to"] == number]
    match = re.search(r"确认码：(\d{6})", texts[-1])
    assert match
    return match.group(1)


def test_an_account_without_sms_cannot_be_followed_by_sms(client: TestClient, db: Session) -> None:
    slug = _account(db)
    refused = client.post(f"/c/{slug}/follow", data={"phone": "13900139000"}, headers={"Accept": "application/json"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "sms_not_configured"
