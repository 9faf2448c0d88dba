"""Small helpers that build test data through the real actions (so audit rows exist as in production)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng import db as wz_db
from wenzheng.accounts.actions import do_create_account
from wenzheng.accounts.models import Account
from wenzheng.agencies.actions import do_create_agency, do_create_department
from wenzheng.agencies.models import Agency, Department
from wenzheng.db import utcnow
from wenzheng.jobs.models import Job
from wenzheng.jobs.worker import run_next
from wenzheng.staff.actions import do_add_staff, do_create_api_token, do_create_user
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import ApiToken, User
from wenzheng.staff.roles import Role

PASSWORD = "correct-horse-battery"
SYSTEM = Actor.system("tests")
_counter = itertools.count(1)


def create_agency(db: Session, slug: str | None = None, name: str | None = None) -> Agency:
    n = next(_counter)
    return do_create_agency(db, SYSTEM, slug=slug or f"agency-{n}", name=name or f"测试机构 {n}")


def create_department(db: Session, agency: Agency, name: str | None = None) -> Department:
    return do_create_department(db, SYSTEM, agency, name=name or f"部门 {next(_counter)}")


def create_account(db: Session, agency: Agency, name: str = "测试公众号") -> Account:
    return do_create_account(db, SYSTEM, agency, slug=f"account-{next(_counter)}", name=name)


def create_user(
    db: Session,
    agency: Agency | None = None,
    role: Role = Role.OPERATOR,
    *,
    username: str | None = None,
    platform_admin: bool = False,
) -> User:
    user = do_create_user(
        db,
        SYSTEM,
        username=username or f"user{next(_counter)}",
        display_name="测试人员",
        password=PASSWORD,
        is_platform_admin=platform_admin,
    )
    if agency is not None:
        do_add_staff(db, SYSTEM, agency, username=user.username, role=role)
    return user


def create_api_token(db: Session, agency: Agency, role: Role = Role.VIEWER) -> tuple[ApiToken, str]:
    return do_create_api_token(db, SYSTEM, agency, name=f"token {next(_counter)}", role=role)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the CSRF token of the new session."""
    page = client.get("/login")
    assert page.status_code == 200
    csrf = client.cookies.get("wz_login_csrf")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    """The CSRF token the console embeds in its forms."""
    import re

    page = client.get("/console", follow_redirects=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the console page"
    return match.group(1)


@dataclass
class Tenant:
    agency: Agency
    department: Department
    account: Account
    admin: User
    operator: User


def create_tenant(db: Session, label: str) -> Tenant:
    agency = create_agency(db, slug=f"{label}-agency", name=f"{label} 机构")
    return Tenant(
        agency=agency,
        department=create_department(db, agency, name=f"{label} 部门"),
        account=create_account(db, agency, name=f"{label} 公众号"),
        admin=create_user(db, agency, Role.ADMIN, username=f"{label}-admin"),
        operator=create_user(db, agency, Role.OPERATOR, username=f"{label}-operator"),
    )


def triage_jobs(db: Session) -> list[Job]:
    """The triage jobs queued so far (the worker's batch and the SQLite write-turn task)."""
    from wenzheng.assessments.tasks import TASK, TASK_APART

    return list(db.execute(select(Job).where(Job.task.in_((TASK, TASK_APART)))).scalars())


def run_until_dead(job_id: int) -> None:
    """Run the job at every retry until it has failed for the last time (its backoff skipped by a later clock)."""
    factory = wz_db.session_factory()
    later = utcnow()
    for _ in range(50):
        later += dt.timedelta(days=1)
        with factory() as session:
            if session.get_one(Job, job_id).state == "dead":
                return
        run_next(factory, "test-worker", now=later)
    raise AssertionError(f"job {job_id} never went dead")
