"""A case's timeline shows what was done on it and to its messages: answers and views of personal data too."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.helpers import csrf, write_in
from tests.citizen.test_web_page import send
from tests.factories import create_tenant, login
from wenzheng.cases.models import Case


def test_answers_and_personal_data_views_are_on_the_case_timeline(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "timeline")
    sent = send(
        client, tenant.account.slug, text="幸福小区停水三天了", form_id="form-timeline-0001", phone="13800138000"
    )
    assert sent.status_code == 303
    first = db.execute(select(Case)).scalar_one()
    other, _ = write_in(client, db, tenant, "请问低保怎么申请？", kind="consultation")
    assert other.id != first.id
    login(client, tenant.admin.username)
    page = client.get(f"/console/messages/{first.first_message_id}").text  # the unmasked phone: a view, audited
    client.post(
        f"/console/messages/{first.first_message_id}/reply",
        data={"csrf_token": csrf(page), "text": "已通知自来水公司。", "channel": "web"},
    )
    timeline = client.get(f"/console/cases/{first.id}").text.split("处理记录")[1]
    # In words, not action codes: opened by triage, the view of the phone number, the answer.
    assert "分诊立案" in timeline
    assert "查看个人信息" in timeline and "答复群众" in timeline
    assert "console:" not in timeline and "worker:" not in timeline
    assert timeline.index("分诊立案") < timeline.index("查看个人信息") < timeline.index("答复群众")
    unrelated = client.get(f"/console/cases/{other.id}").text.split("处理记录")[1]
    assert "答复群众" not in unrelated and "查看个人信息" not in unrelated
    assert "分诊立案" in unrelated


def test_a_timeline_entry_without_words_shows_its_action_code() -> None:
    from wenzheng.web.templating import _action_text

    assert _action_text("console:case:assign", "zh") == "指定承办人"
    assert _action_text("worker:case:assign", "en") == "assigned it"
    assert _action_text("console:case:something_new", "zh") == ""


def test_every_action_a_case_timeline_can_show_has_words() -> None:
    import re
    from pathlib import Path

    import wenzheng
    from wenzheng.web.i18n import MESSAGES

    source = "\n".join(p.read_text() for p in Path(wenzheng.__file__).parent.rglob("*.py"))
    actions = set(re.findall(r"\"[a-z]+:((?:case|message|attachment):[a-z_]+)\"", source))
    assert {"case:open", "case:assign", "message:reply"} <= actions  # the scan finds them
    assert sorted(a for a in actions if f"audit_action.{a}" not in MESSAGES) == []


def test_a_case_written_in_english_says_so_above_the_answer(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "language")
    english, _ = write_in(client, db, tenant, "We are trapped in the school dormitory, please help us")
    chinese, _ = write_in(client, db, tenant, "请问低保怎么申请？", kind="consultation")
    login(client, tenant.operator.username)

    page = client.get(f"/console/cases/{english.id}").text
    other = client.get(f"/console/cases/{chinese.id}").text

    assert 'id="case-language" data-lang="en"' in page and "此留言为英文" in page
    assert 'id="case-language"' not in other
