"""A bulletin for the followers near a place: circles (lat,lon,km) over their last shared position."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.bulletins.conftest import add_followers
from tests.factories import Tenant, login
from tests.wechat.fake_api import FakeWeChat
from wenzheng.bulletins.audience import clean_audience, count_audience
from wenzheng.errors import InvalidInput
from wenzheng.followers.models import Follower
from wenzheng.staff.models import User

DAM = (30.05, 102.95)  # a reservoir's dam above a township
KM_NORTH = 1 / 111.32  # degrees of latitude per kilometre


def _place(db: Session, follower: Follower, lat: float | None, lon: float | None) -> None:
    follower.last_latitude, follower.last_longitude = lat, lon
    db.commit()


def test_circles_are_read_as_typed_and_refused_with_what_to_write() -> None:
    typed = clean_audience({"near": "30.05, 102.95, 5\n29.98 103.00 0.5；30.05,102.95,5"})
    assert typed["near"] == ["30.05000,102.95000,5", "29.98000,103.00000,0.5"]
    assert "near" not in clean_audience({"near": ""})
    for bad in ("abc", "30.05,102.95", "30.05,102.95,500", "95,102.95,5", "30.05,102.95,0"):
        with pytest.raises(InvalidInput) as refused:
            clean_audience({"near": bad})
        assert refused.value.code == "bulletin_bad_circle" and "latitude" in refused.value.message


def test_followers_last_seen_inside_a_circle_are_its_audience(db: Session, tenant: Tenant) -> None:
    inside, edge, outside, unknown, gone = add_followers(db, tenant, "wechat", 5)
    _place(db, inside, *DAM)
    _place(db, edge, DAM[0] + 4.8 * KM_NORTH, DAM[1])  # 4.8 km north
    _place(db, outside, DAM[0], DAM[1] + 6 / (111.32 * 0.8660))  # 6 km east (cos 30° ≈ 0.866)
    _place(db, unknown, None, None)
    _place(db, gone, *DAM)
    gone.state = "unfollowed"
    db.commit()
    [by_sms] = add_followers(db, tenant, "sms", 1)
    _place(db, by_sms, DAM[0] - 1 * KM_NORTH, DAM[1])

    five_km = clean_audience({"near": f"{DAM[0]},{DAM[1]},5"})
    assert count_audience(db, tenant.account.id, five_km) == {"wechat": 2, "sms": 1, "total": 3}
    both = clean_audience({"near": f"{DAM[0]},{DAM[1]},5\n{DAM[0]},{DAM[1] + 0.07},1"})
    assert count_audience(db, tenant.account.id, both)["total"] == 4  # the second circle takes the east one
    narrowed = clean_audience({"near": f"{DAM[0]},{DAM[1]},5", "channels": ["sms"]})
    assert count_audience(db, tenant.account.id, narrowed) == {"sms": 1, "total": 1}


def test_the_compose_form_keeps_circles_counts_them_and_names_a_bad_one(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    [near_dam] = add_followers(db, tenant, "wechat", 1)
    _place(db, near_dam, *DAM)
    add_followers(db, tenant, "wechat", 2)  # positions unknown
    csrf = login(client, tenant.operator.username)
    base = {"csrf_token": csrf, "kind": "notice", "title": "水库泄洪", "body": "坝下游5公里内群众请转移。"}

    refused = client.post(f"/console/accounts/{tenant.account.id}/bulletins", data={**base, "near": "30.05,102.95"})
    assert refused.status_code == 422 and "latitude,longitude,radius" in refused.text and 'id="f-near"' in refused.text
    counted = client.get(
        f"/console/accounts/{tenant.account.id}/bulletins/audience", params={"near": "30.05,102.95,5"}
    ).json()
    assert counted == {"wechat": 1, "total": 1}
    saved = client.post(
        f"/console/accounts/{tenant.account.id}/bulletins",
        data={**base, "near": "30.05,102.95,5"},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "30.05000, 102.95000 · 5 km" in saved.text


def test_a_bulletin_for_a_circle_goes_to_those_inside_only(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    from tests.bulletins.test_fanout import _publish
    from wenzheng.bulletins.actions import Draft

    inside, outside = add_followers(db, tenant, "wechat", 2)
    _place(db, inside, *DAM)
    _place(db, outside, DAM[0] + 0.5, DAM[1])  # 55 km north
    draft = Draft(
        kind="notice", title="水库泄洪", body="坝下游5公里内群众请转移。", audience={"near": "30.05,102.95,5"}
    )

    bulletin = _publish(db, tenant, supervisor, draft)

    [call] = wechat.calls("/cgi-bin/message/mass/send")
    assert call.json["touser"] == [inside.handle, inside.handle]  # WeChat wants two: one follower is sent twice
    assert bulletin.audience_count == 1
