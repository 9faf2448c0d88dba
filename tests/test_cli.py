"""The command line: real commands on the test database; mistakes are one line and exit 2."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from wenzheng.accounts.models import Account, AccountNameChange
from wenzheng.agencies.models import Agency
from wenzheng.cli import app
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


def test_db_upgrade_reports_the_revision() -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0
    from tests.test_migrations import _head

    assert _head() in result.output
