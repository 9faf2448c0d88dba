"""Meta-tests over every route of the app: authentication required unless deliberately public, and
another agency's ids are answered 404 — never data, never 403 that would confirm they exist."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, Tenant, create_agency, create_api_token, create_tenant, login
from wenzheng.app import ROUTERS, create_app
from wenzheng.attachments.store import get_store
from wenzheng.autoreplies.actions import do_create_auto_reply
from wenzheng.bulletins.actions import Draft, do_create_bulletin
from wenzheng.cases.canned import do_create_canned_reply
from wenzheng.cases.models import Case
from wenzheng.cases.transfer import do_propose_transfer
from wenzheng.intake.actions import accept
from wenzheng.intake.inbound import Inbound
from wenzheng.intake.replies import decide_reply
from wenzheng.jobs.models import Job, JobState
from wenzheng.messages.models import Attachment, Message
from wenzheng.routing.actions import do_create_routing_rule
from wenzheng.web.public import PUBLIC_ROUTES

PARAM = re.compile(r"{(\w+)}")
SAMPLE_BODIES = {
    "AgencyIn": {"slug": "sample-agency", "name": "样例机构"},
    "DepartmentIn": {"name": "样例部门"},
    "DepartmentPatch": {"description": "改过的简介"},
    "AccountIn": {"slug": "sample-account", "name": "样例公众号"},
    "AccountPatch": {"name": "样例新名"},
    "VerificationIn": {"verified": True},
    "PlaceCountriesIn": {"place_countries": ["HT"]},
    "IssuingUnitCodeIn": {"issuing_unit_code": "51180000000000"},
    "RetentionIn": {"retention_days": 365},
    "EnglishNameIn": {"name_en": "Ya'an Emergency Management Bureau"},
}


def all_routes() -> Iterator[tuple[str, str, APIRoute]]:
    for route in (r for router in ROUTERS for r in router.routes):
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                yield method, route.path, route


ROUTES = list(all_routes())


def test_the_walk_covers_the_whole_app() -> None:
    app = create_app()
    assert len(app.routes) == len(ROUTERS) + 2, "include routers only through wenzheng.app.ROUTERS"
    walked = {path for _, path, _ in ROUTES}
    assert set(app.openapi()["paths"]) <= walked
    assert len(ROUTES) >= 30


def test_public_list_names_only_real_routes() -> None:
    real = {(method, path) for method, path, _ in ROUTES} | {("GET", "/api/v1/openapi.json")}
    assert real >= PUBLIC_ROUTES, f"stale public entries: {PUBLIC_ROUTES - real}"


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES if (m, p) not in PUBLIC_ROUTES])
def test_route_requires_authentication(client: TestClient, method: str, path: str) -> None:
    url = PARAM.sub("1", path)
    response = client.request(method, url, follow_redirects=False)
    if path.startswith("/api/"):
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "not_authenticated"
    else:
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login?")


def _body_for(route: APIRoute) -> dict[str, object] | None:
    body_field = route.body_field
    if body_field is None or route.path.startswith("/console") or route.path in ("/login", "/logout"):
        return None
    name = body_field.field_info.annotation.__name__  # type: ignore[union-attr]
    assert name in SAMPLE_BODIES, f"add a sample body for {name} ({route.path}) to SAMPLE_BODIES"
    return SAMPLE_BODIES[name]


def _foreign_urls(path: str, ids_b: dict[str, int], ids_a: dict[str, int]) -> list[str]:
    """Every way to name agency B's objects: all-B ids, and B's object under each of A's parents."""
    params = PARAM.findall(path)
    urls = [PARAM.sub(lambda m: str(ids_b[m.group(1)]), path)]
    for parent in params[:-1]:
        urls.append(PARAM.sub(lambda m, p=parent: str((ids_a if m.group(1) == p else ids_b)[m.group(1)]), path))
    return urls


def _message_with_photo(db: Session, tenant: Tenant) -> tuple[Message, Attachment]:
    """An inbound message of ``tenant`` with a stored photo, through the real intake action."""
    inbound = Inbound(channel="web", channel_message_id="meta-1", kind="text", handle="browser-b", text="求助")
    accepted = accept(db, tenant.account, inbound, decide_reply=decide_reply)
    sha256, size = get_store().put(b"\xff\xd8 meta-test bytes")
    attachment = Attachment(
        agency_id=tenant.agency.id,
        message_id=accepted.message_id,
        kind="image",
        state="stored",
        sha256=sha256,
        size=size,
        content_type="image/jpeg",
    )
    db.add(attachment)
    db.commit()
    message = db.get(Message, accepted.message_id)
    assert message is not None
    return message, attachment


def _case_of(db: Session, message: Message) -> int:
    """The case triage opened for the message (jobs run inline in tests)."""
    case_id = db.execute(select(Message.case_id).where(Message.id == message.id)).scalar_one()
    assert case_id is not None, "triage should have opened a case"
    return int(case_id)


def test_foreign_ids_are_not_found(client: TestClient, db: Session) -> None:
    a, b = create_tenant(db, "a"), create_tenant(db, "b")
    token_a, _ = create_api_token(db, a.agency)
    token_b, _ = create_api_token(db, b.agency)
    message_b, attachment_b = _message_with_photo(db, b)
    rule_b = do_create_auto_reply(db, SYSTEM, b.account, match_type="exact", pattern="b", reply_text="b")
    job_b = Job(agency_id=b.agency.id, task="staff.purge_expired_sessions", state=JobState.DEAD.value)
    db.add(job_b)
    db.commit()
    ids_b = {
        "agency_id": b.agency.id,
        "account_id": b.account.id,
        "department_id": b.department.id,
        "user_id": b.admin.id,
        "token_id": token_b.id,
        "job_id": job_b.id,
        "rule_id": rule_b.id,
        "message_id": message_b.id,
        "citizen_id": message_b.citizen_id,
        "attachment_id": attachment_b.id,
        "case_id": _case_of(db, message_b),
        "routing_rule_id": do_create_routing_rule(db, SYSTEM, b.department, keywords="塌方").id,
        "canned_reply_id": do_create_canned_reply(db, SYSTEM, b.agency.id, title="b", text="b").id,
        "bulletin_id": do_create_bulletin(db, SYSTEM, b.account, Draft(kind="notice", title="b", body="b")).id,
        # B proposes its case to a third agency: A is party to neither side.
        "transfer_id": do_propose_transfer(
            db, SYSTEM, db.get_one(Case, _case_of(db, message_b)), to_agency_id=create_agency(db).id, reason="c"
        ).id,
    }
    ids_a = {
        "agency_id": a.agency.id,
        "account_id": a.account.id,
        "department_id": a.department.id,
        "user_id": a.admin.id,
        "token_id": token_a.id,
        "job_id": 0,
        "rule_id": 0,
        "message_id": 0,
        "citizen_id": 0,
        "attachment_id": 0,
        "case_id": 0,
        "routing_rule_id": 0,
        "canned_reply_id": 0,
        "bulletin_id": 0,
        "transfer_id": 0,
    }
    csrf = login(client, a.admin.username)
    checked = 0
    for method, path, route in ROUTES:
        if (method, path) in PUBLIC_ROUTES or not PARAM.search(path):
            continue
        unknown = set(PARAM.findall(path)) - set(ids_b)
        assert not unknown, f"teach this test about {unknown} in {path}"
        for url in _foreign_urls(path, ids_b, ids_a):
            response = client.request(
                method,
                url,
                json=_body_for(route),
                headers={"X-CSRF-Token": csrf},
                follow_redirects=False,
            )
            assert response.status_code == 404, (method, url, response.status_code, response.text[:200])
            checked += 1
    assert checked >= 20
