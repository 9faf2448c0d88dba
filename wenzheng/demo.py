"""A believable demo platform: four Ya'an agencies, their accounts, departments and staff.

The emergency-management office's account was opened as 「四川雅安」 and renamed 「芦山地震救助」
on the day of the earthquake, so its name history shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.actions import do_create_account, do_rename_account, do_set_account_verified
from wenzheng.agencies.actions import do_create_agency, do_create_department
from wenzheng.agencies.models import Agency
from wenzheng.staff.actions import do_add_staff, do_create_user
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

DEMO_PASSWORD = "wenzheng-demo"  # noqa: S105 - a demo login, printed for the person running the demo


@dataclass(frozen=True)
class DemoAgency:
    slug: str
    name: str
    account_slug: str
    account_name: str
    account_description: str
    departments: tuple[str, ...]
    staff: tuple[tuple[str, str, Role], ...]


AGENCIES = (
    DemoAgency(
        "yaan-emergency",
        "雅安市应急管理局",
        "yaan",
        "四川雅安",
        "雅安市应急管理局官方账号：灾情发布、求助受理、救援协调。",
        ("应急指挥中心", "救援协调科", "物资保障科", "信息发布科"),
        (
            ("yaan-admin", "王建国", Role.ADMIN),
            ("yaan-supervisor", "李秀英", Role.SUPERVISOR),
            ("yaan-operator", "张伟", Role.OPERATOR),
            ("yaan-operator2", "刘洋", Role.OPERATOR),
            ("yaan-viewer", "陈静", Role.VIEWER),
        ),
    ),
    DemoAgency(
        "yaan-police",
        "雅安市公安局",
        "yaan-police",
        "平安雅安",
        "雅安市公安局官方账号：警情通报、寻人协查、户政咨询。",
        ("110指挥中心", "交通警察支队", "户政管理科", "网络安全保卫支队"),
        (("police-admin", "赵强", Role.ADMIN), ("police-operator", "孙丽", Role.OPERATOR)),
    ),
    DemoAgency(
        "yaan-youth",
        "共青团雅安市委",
        "yaan-youth",
        "青春雅安",
        "共青团雅安市委：志愿者招募与调度、青少年关爱。",
        ("志愿者工作部", "青少年权益部"),
        (("youth-admin", "周敏", Role.ADMIN), ("youth-operator", "吴磊", Role.OPERATOR)),
    ),
    DemoAgency(
        "yaan-tourism",
        "雅安市文化广电旅游局",
        "yaan-tourism",
        "雅安旅游",
        "雅安市文化广电旅游局：景区信息、游客服务、旅游投诉。",
        ("市场管理科", "游客服务中心"),
        (("tourism-admin", "郑华", Role.ADMIN), ("tourism-operator", "冯雪", Role.OPERATOR)),
    ),
)
RENAMED_TO = "芦山地震救助"


def is_seeded(session: Session) -> bool:
    return session.execute(select(Agency.id).where(Agency.slug == AGENCIES[0].slug)).first() is not None


def seed_demo(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo platform once; returns (username, role, agency) rows for the login table."""
    actor = Actor.system("demo")
    logins = [("platform", "platform admin", "—")]
    if is_seeded(session):
        return logins + _login_rows()
    do_create_user(
        session,
        actor,
        username="platform",
        display_name="平台管理员",
        password=DEMO_PASSWORD,
        is_platform_admin=True,
    )
    for spec in AGENCIES:
        _seed_agency(session, actor, spec)
    return logins + _login_rows()


def _seed_agency(session: Session, actor: Actor, spec: DemoAgency) -> None:
    agency = do_create_agency(session, actor, slug=spec.slug, name=spec.name)
    for department in spec.departments:
        do_create_department(session, actor, agency, name=department)
    account = do_create_account(
        session,
        actor,
        agency,
        slug=spec.account_slug,
        name=spec.account_name,
        description=spec.account_description,
    )
    do_set_account_verified(session, actor, account, verified=True)
    if spec.account_slug == "yaan":
        do_rename_account(session, actor, account, new_name=RENAMED_TO)
    for username, display_name, role in spec.staff:
        do_add_staff(
            session,
            actor,
            agency,
            username=username,
            role=role,
            display_name=display_name,
            password=DEMO_PASSWORD,
        )


def _login_rows() -> list[tuple[str, str, str]]:
    return [(username, role.value, spec.name) for spec in AGENCIES for username, _name, role in spec.staff]
