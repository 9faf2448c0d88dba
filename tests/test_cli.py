"""The command line: real commands on the test database; mistakes are one line and exit 2."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from wenzheng.accounts.models import Account, AccountNameChange
from wenzheng.agencies.models import Agency, Department
from wenzheng.assessments.models import Assessment
from wenzheng.cases.models import Case
from wenzheng.cli import app
from wenzheng.messages.models import Message
from wenzheng.staff.models import Membership, User

runner = CliRunner()


def test_create_agency_and_user(db: Session) -> None:
    result = runner.invoke(app, ["create-agency", "yaan-test", "雅安测试局"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "create-user",
            "zhang",
            "--password",
            "long-enough-pw",
            "--agency",
            "yaan-test",
            "--role",
            "supervisor",
            "--display-name",
            "张三",
        ],
    )
    assert result.exit_code == 0, result.output
    user = db.execute(select(User).where(User.username == "zhang")).scalar_one()
    assert db.execute(select(Membership.role).where(Membership.user_id == user.id)).scalar_one() == "supervisor"


def test_mistakes_are_one_clear_line() -> None:
    cases = [
        (["create-agency", "Bad Slug", "x"], "invalid_slug"),
        (["create-user", "li", "--password", "short"], "password_too_short"),
        (["create-user", "li", "--password", "long-enough-pw", "--agency", "nowhere"], "agency_not_found"),
        (["create-user", "li", "--password", "long-enough-pw", "--role", "boss"], "invalid_role"),
    ]
    for args, code in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert code in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) <= 2


def test_a_refused_user_leaves_nothing(db: Session) -> None:
    result = runner.invoke(app, ["create-user", "wang", "--password", "long-enough-pw", "--role", "boss"])
    assert result.exit_code == 2
    assert db.execute(select(User).where(User.username == "wang")).first() is None


def test_demo_seeds_once_and_prints_logins(db: Session) -> None:
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "yaan-operator" in result.output and "wenzheng-demo" in result.output
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0
    assert len(db.execute(select(Agency)).all()) == 4
    account = db.execute(select(Account).where(Account.slug == "yaan")).scalar_one()
    assert account.name == "芦山地震救助" and account.verified
    change = db.execute(select(AccountNameChange).where(AccountNameChange.account_id == account.id)).scalar_one()
    assert change.old_name == "四川雅安"
    # Its first messages are triaged, routed by the demo's rules and assigned round-robin to whoever is on duty.
    rows = db.execute(
        select(Message.text, Case.urgency, Case.intent, Department.name, User.username)
        .join(Case, Case.id == Message.case_id)
        .outerjoin(Department, Department.id == Case.department_id)
        .outerjoin(User, User.id == Case.assignee_id)
        .where(Message.account_id == account.id, Message.channel_message_id.like("demo-%"))
    ).all()

    def case_of(start: str) -> tuple[str, str, str | None, str | None]:
        [found] = [(urgency, intent, dep, who) for text, urgency, intent, dep, who in rows if text.startswith(start)]
        return found

    assert case_of("我们被困在姚桥") == ("P0", "rescue", "救援协调科", "yaan-operator")
    assert case_of("龙门乡青龙场") == ("P1", "help", "物资保障科", "yaan-operator2")
    assert case_of("太平镇安置点") == ("P1", "help", "物资保障科", "yaan-operator2")
    # The agency works in China, so a visitor's English place name is pinned on Ya'an.
    places = db.execute(
        select(Assessment.places)
        .join(Message, Message.id == Assessment.message_id)
        .where(Message.text.like("Two foreign%"))
    ).scalar_one()
    assert [(p["text"], p["admin"]) for p in places] == [("Ya'an", ["四川省", "雅安市", None, None])]
    assert places[0]["lat"] == pytest.approx(30.0, abs=0.1) and places[0]["lon"] == pytest.approx(103.0, abs=0.1)


def test_db_upgrade_reports_the_revision() -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0
    from tests.test_migrations import _head

    assert _head() in result.output
