"""Where a case is drawn: the citizen's shared position first, else the place its text names, else nowhere;
every position in WGS-84, and a citizen's own position rounded for viewers."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import create_tenant
from tests.map.seeding import Seed, insert_cases
from wenzheng.accounts.models import Account
from wenzheng.cases.geo import MapFilter, Position, located_cases_of_agency, place_position, shown_position
from wenzheng.datum import gcj02_to_wgs84, wgs84_to_gcj02
from wenzheng.db import utcnow
from wenzheng.errors import NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

LUSHAN_GCJ = {"text": "芦山县", "admin": ["四川省", "雅安市", "芦山县", None], "lat": 30.142307, "lon": 102.932385}
YAAN_GCJ = {"text": "雅安", "admin": ["四川省", "雅安市", None, None], "lat": 30.010602, "lon": 103.042375}


def test_the_gcj02_offset_matches_the_published_converters() -> None:
    # The vector every open converter (coordtransform, gcoord) is tested with.
    assert wgs84_to_gcj02(39.915, 116.404) == pytest.approx((39.91640428150164, 116.41024449916938), abs=1e-9)
    lat, lon = gcj02_to_wgs84(*wgs84_to_gcj02(30.0, 103.0))
    assert (lat, lon) == pytest.approx((30.0, 103.0), abs=1e-8)
    assert wgs84_to_gcj02(48.85, 2.35) == (48.85, 2.35)  # outside China nothing moves


def test_the_finest_named_place_wins_and_is_converted_to_wgs84() -> None:
    position = place_position([YAAN_GCJ, LUSHAN_GCJ, {"text": "姚桥镇", "admin": [None, None, None, "姚桥镇"]}])
    assert position is not None and not position.exact
    assert (position.lat, position.lon) == pytest.approx(gcj02_to_wgs84(30.142307, 102.932385))
    assert place_position([{"text": "某地", "admin": [None, None, None, None], "lat": None, "lon": None}]) is None
    assert place_position(None) is None


def _located(db: Session, agency_id: int, wanted: MapFilter | None = None) -> dict[int, Position]:
    located = located_cases_of_agency(db, Actor.system(), agency_id, wanted or MapFilter(intents=()), now=utcnow())
    return {p.case_id: p.position for p in located.points}


def test_a_shared_position_beats_a_named_place_and_none_is_counted(db: Session) -> None:
    tenant = create_tenant(db, "geo")
    shared, named, nowhere, wechat = insert_cases(
        tenant.account,
        [
            Seed(lat=30.1, lon=102.9, place=LUSHAN_GCJ),
            Seed(place=LUSHAN_GCJ),
            Seed(),
            Seed(lat=30.2, lon=103.0, channel="wechat"),
        ],
    )
    positions = _located(db, tenant.agency.id)
    assert positions[shared] == Position(30.1, 102.9, exact=True)  # the web page's geolocation is WGS-84
    assert positions[named].exact is False
    assert (positions[named].lat, positions[named].lon) == pytest.approx(gcj02_to_wgs84(30.142307, 102.932385))
    assert nowhere not in positions
    assert (positions[wechat].lat, positions[wechat].lon) == pytest.approx(gcj02_to_wgs84(30.2, 103.0))
    located = located_cases_of_agency(db, Actor.system(), tenant.agency.id, MapFilter(intents=()), now=utcnow())
    assert located.without_position == 1 and not located.truncated


def test_the_latest_shared_position_is_used(db: Session) -> None:
    from sqlalchemy import insert

    from wenzheng import db as wz_db
    from wenzheng.messages.models import Message

    tenant = create_tenant(db, "moved")
    (case_id,) = insert_cases(tenant.account, [Seed(lat=30.0, lon=103.0)])
    with wz_db.get_engine().begin() as connection:
        connection.execute(
            insert(Message),
            [
                {
                    "agency_id": tenant.agency.id,
                    "account_id": tenant.account.id,
                    "case_id": case_id,
                    "direction": "in",
                    "channel": "web",
                    "channel_message_id": "later",
                    "kind": "text",
                    "latitude": 30.5,
                    "longitude": 103.5,
                    "payload": {},
                    "received_at": utcnow(),
                }
            ],
        )
    assert _located(db, tenant.agency.id)[case_id] == Position(30.5, 103.5, exact=True)


BAOXING_GCJ = {"text": "宝兴县", "admin": ["四川省", "雅安市", "宝兴县", None], "lat": 30.368, "lon": 102.815}


def _add_later_message(tenant_account: Account, case_id: int, message_id: int, place: dict[str, object]) -> None:
    """A later message of the case (what the citizen wrote when asked where), with triage's places."""
    from sqlalchemy import insert

    from wenzheng import db as wz_db
    from wenzheng.assessments.models import Assessment
    from wenzheng.messages.models import Message

    with wz_db.get_engine().begin() as connection:
        connection.execute(
            insert(Message),
            [
                {
                    "id": message_id,
                    "agency_id": tenant_account.agency_id,
                    "account_id": tenant_account.id,
                    "case_id": case_id,
                    "citizen_id": case_id,
                    "direction": "in",
                    "channel": "web",
                    "channel_message_id": f"later-{message_id}",
                    "kind": "text",
                    "text": f"我们在{place['text']}",
                    "payload": {},
                    "received_at": utcnow(),
                }
            ],
        )
        connection.execute(
            insert(Assessment),
            [
                {
                    "agency_id": tenant_account.agency_id,
                    "account_id": tenant_account.id,
                    "message_id": message_id,
                    "lang": "zh",
                    "intent": "rescue",
                    "urgency": "P0",
                    "score": 0.9,
                    "places": [place],
                    "model_version": "seed",
                }
            ],
        )


def test_a_place_named_only_later_or_finer_later_places_the_case(db: Session) -> None:
    from wenzheng.cases.geo import case_position
    from wenzheng.cases.models import Case

    tenant = create_tenant(db, "later")
    unnamed, coarse, named = insert_cases(tenant.account, [Seed(), Seed(place=YAAN_GCJ), Seed(place=LUSHAN_GCJ)])
    _add_later_message(tenant.account, unnamed, 300_001, LUSHAN_GCJ)  # 「救命」, then 「我们在芦山县」
    _add_later_message(tenant.account, coarse, 300_002, BAOXING_GCJ)  # 雅安, then the county
    _add_later_message(tenant.account, named, 300_003, BAOXING_GCJ)  # the first message's county stands

    positions = _located(db, tenant.agency.id)

    lushan, baoxing = gcj02_to_wgs84(30.142307, 102.932385), gcj02_to_wgs84(30.368, 102.815)
    assert (positions[unnamed].lat, positions[unnamed].lon, positions[unnamed].exact) == pytest.approx((*lushan, False))
    assert (positions[coarse].lat, positions[coarse].lon) == pytest.approx(baoxing)
    assert (positions[named].lat, positions[named].lon) == pytest.approx(lushan)
    for case_id in (unnamed, coarse, named):  # the case page's map agrees with the agency's
        assert case_position(db, db.get_one(Case, case_id)) == positions[case_id]


def test_viewers_see_a_citizens_position_rounded_to_a_kilometre() -> None:
    viewer = Actor(user_id=1, roles={7: Role.VIEWER})
    operator = Actor(user_id=2, roles={7: Role.OPERATOR})
    exact = Position(30.123456, 103.987654, exact=True)
    assert shown_position(viewer, 7, exact) == Position(30.12, 103.99, exact=True)
    assert shown_position(operator, 7, exact) == exact
    named = Position(30.123456, 103.987654, exact=False)
    assert shown_position(viewer, 7, named) == named  # a county's centre is no one's personal data


def test_outsiders_reach_nothing(db: Session) -> None:
    tenant = create_tenant(db, "closed")
    with pytest.raises(NotFound):
        located_cases_of_agency(db, Actor(user_id=9, roles={}), tenant.agency.id, MapFilter(), now=utcnow())
