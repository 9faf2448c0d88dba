"""Small arrangements shared by the case-flow tests: cases opened the real way (a citizen writes, triage
places it), and the console's CSRF token."""

from __future__ import annotations

import itertools
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.citizen.test_web_page import send
from tests.factories import Tenant
from wenzheng.cases.models import Case
from wenzheng.messages.models import Message

LUSHAN = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，目前房子已经全部坍塌了，求大家救救我们！"
_forms = itertools.count(1)


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def form_id() -> str:
    return f"form-case-flow-{next(_forms):08d}"


def write_in(client: TestClient, db: Session, tenant: Tenant, text: str, *, kind: str = "help") -> tuple[Case, str]:
    """A citizen writes on the web page; returns the case triage placed it in and their status page's path."""
    response = send(client, tenant.account.slug, text=text, form_id=form_id(), kind=kind)
    assert response.status_code == 303, response.text
    status_path = response.headers["location"].split("?")[0]
    case_id = db.execute(select(Message.case_id).order_by(Message.id.desc()).limit(1)).scalar_one()
    assert case_id is not None, "triage should have placed the message in a case"
    return db.get_one(Case, case_id), status_path


def follow_up(client: TestClient, status_path: str, text: str) -> None:
    """The citizen adds to what they wrote, from their status page."""
    response = client.post(
        f"{status_path}/follow-up", data={"text": text, "form_id": form_id()}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
