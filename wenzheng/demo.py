"""A believable demo platform: four Ya'an agencies, their accounts, departments and staff.

The emergency-management office's account was opened as 「四川雅安」 and renamed 「芦山地震救助」
on the day of the earthquake, so its name history shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.actions import do_create_account, do_rename_account, do_set_account_verified
from wenzheng.accounts.models import Account
from wenzheng.agencies.actions import (
    do_create_agency,
    do_create_department,
    do_set_english_name,
    do_set_issuing_unit_code,
    do_set_place_countries,
    do_set_retention_days,
)
from wenzheng.agencies.models import Agency
from wenzheng.autoreplies.actions import do_create_auto_reply
from wenzheng.cases.assign import do_set_on_duty, do_set_staffing
from wenzheng.cases.calendar import do_set_calendar_days, parse_days
from wenzheng.channels.email.actions import do_set_email_address
from wenzheng.channels.sms.actions import do_set_sms_number
from wenzheng.channels.wechat.actions import do_connect_wechat
from wenzheng.config import get_settings
from wenzheng.intake.actions import accept
from wenzheng.intake.inbound import Inbound
from wenzheng.intake.replies import decide_reply
from wenzheng.routing.actions import do_create_routing_rule
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
    place_countries: tuple[str, ...] = ()  # where English place names are pinned (wenzheng.triage.world)
    name_en: str = ""  # the sender of its alerts' English CAP info


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
        place_countries=("CN",),
        name_en="Ya'an Emergency Management Bureau",
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

# The demo account's WeChat connection, printed by `make demo` so anyone can try the channel
# with `wenzheng wechat simulate` (these are demo values, not secrets of any real account).
DEMO_WECHAT = {
    "app_id": "wx5e1a2b3c4d5e6f70",
    "token": "lushan2013",
    "aes_key": "LuShanDiZhenJiuZhu2013042008021800000000000",
    "original_id": "gh_lushan_rescue",
    "app_secret": "demo-app-secret-of-lushan-rescue",
}
DEMO_SMS_NUMBER = "1065902013"
DEMO_WELCOME = (
    "感谢关注芦山地震救助。被困、受伤或需要救援，请直接发送文字说明位置和人数，并发送位置；"
    "我们会给您一个受理编号。生命危险请同时拨打 119 / 120。"
)
DEMO_AUTO_REPLIES = (
    ("contains", "捐款", "捐款请通过雅安市红十字会官方渠道，谨防诈骗。物资捐赠请联系市物资保障科。", 10),
    ("contains", "献血", "雅安市中心血站接受献血，请携带身份证，献血前请正常饮食。", 20),
    ("contains", "余震", "余震期间请远离危房和山体，到空旷地带避险，不要返回受损房屋取物。", 30),
    ("exact", "寻人", "寻人请发送：失联者姓名、年龄、最后出现的地点和时间、您的联系电话。", 40),
)


# China's public holidays of 2026 and the weekend days worked in exchange (调休), as announced by the State
# Council's General Office on 4 November 2025 (国务院办公厅关于2026年部分节假日安排的通知).
CHINA_2026_HOLIDAYS = """
2026-01-01~2026-01-03 元旦
2026-02-15~2026-02-23 春节
2026-04-04~2026-04-06 清明节
2026-05-01~2026-05-05 劳动节
2026-06-19~2026-06-21 端午节
2026-09-25~2026-09-27 中秋节
2026-10-01~2026-10-07 国庆节
"""
CHINA_2026_WORKING_WEEKENDS = """
2026-01-04 元旦调休上班
2026-02-14 春节调休上班
2026-02-28 春节调休上班
2026-05-09 劳动节调休上班
2026-09-20 国庆节调休上班
2026-10-10 国庆节调休上班
"""


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


# 派单 in the demo: the emergency office routes pleas to its rescue desk and needs to its supplies desk, where an
# operator is on duty for each, so new cases are assigned round-robin as they are triaged.
# (department, rule name, intents, keywords, priority)
DEMO_ROUTING = (
    ("救援协调科", "救援与寻人", "rescue,missing_person", "", 20),
    ("物资保障科", "物资与转移", "help", "物资,帐篷,饮用水,转移,安置", 10),
    ("信息发布科", "咨询", "consultation", "", 1),
)
# 雅安市 (511800) as the division; the organisation, unit and extension digits are made up for the demo.
DEMO_UNIT_CODE = "51180000100000"
DEMO_RETENTION_DAYS = 365  # personal data erased a year after a case ends (citizens.retention)
DEMO_DUTY = (("yaan-operator", "救援协调科"), ("yaan-operator2", "物资保障科"))
DEMO_CAPACITY = 20


def _seed_agency(session: Session, actor: Actor, spec: DemoAgency) -> None:
    agency = do_create_agency(session, actor, slug=spec.slug, name=spec.name)
    departments = {name: do_create_department(session, actor, agency, name=name) for name in spec.departments}
    if spec.place_countries:
        do_set_place_countries(session, actor, agency, spec.place_countries)
    if spec.name_en:
        do_set_english_name(session, actor, agency, spec.name_en)
    do_set_calendar_days(session, actor, agency.id, parse_days(CHINA_2026_HOLIDAYS), working=False)
    do_set_calendar_days(session, actor, agency.id, parse_days(CHINA_2026_WORKING_WEEKENDS), working=True)
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
        do_set_issuing_unit_code(session, actor, agency, DEMO_UNIT_CODE)
        do_set_retention_days(session, actor, agency, DEMO_RETENTION_DAYS)
        do_rename_account(session, actor, account, new_name=RENAMED_TO)
        do_connect_wechat(session, actor, account, welcome_text=DEMO_WELCOME, encryption_mode="safe", **DEMO_WECHAT)
        do_set_sms_number(session, actor, account, number=DEMO_SMS_NUMBER)
        do_set_email_address(session, actor, account, f"yaan@{get_settings().mail_domain}")
        _seed_followers(session, account)
        for match_type, pattern, reply, priority in DEMO_AUTO_REPLIES:
            do_create_auto_reply(
                session, actor, account, match_type=match_type, pattern=pattern, reply_text=reply, priority=priority
            )
    members = {
        username: do_add_staff(
            session,
            actor,
            agency,
            username=username,
            role=role,
            display_name=display_name,
            password=DEMO_PASSWORD,
        )
        for username, display_name, role in spec.staff
    }
    if spec.account_slug == "yaan":
        for department, name, intents, keywords, priority in DEMO_ROUTING:
            do_create_routing_rule(
                session,
                actor,
                departments[department],
                name=name,
                categories=intents,
                keywords=keywords,
                priority=priority,
            )
        for username, department in DEMO_DUTY:
            do_set_staffing(
                session, actor, members[username], department=departments[department], capacity=DEMO_CAPACITY
            )
            do_set_on_duty(session, actor, members[username], on_duty=True)
        _seed_messages(session, account)  # after the rules and the rota, so its cases are routed and assigned
        _seed_bulletins(session, account)


# What citizens wrote in the first hours, written for the demo (channel, sender, text, requested kind).
DEMO_MESSAGES = (
    ("wechat", "o_demo_yaoqiao", "我们被困在姚桥镇初级中学附属教师职工宿舍，房子全部坍塌了，求救！", None),
    ("sms", "+8613908161234", "龙门乡青龙场村有三位老人行动不便，需要转移", None),
    ("web", "+8613550001111", "太平镇安置点缺饮用水和帐篷，约40人", "help"),
    ("wechat", "o_demo_donor", "请问怎么给灾区捐款？", None),
    ("web", "+8618981112222", "宝兴县通往灵关镇的道路塌方，车辆无法通行", "complaint"),
    ("wechat", "o_demo_prayer", "为雅安祈福，加油！", None),
    (
        "wechat",
        "o_demo_visitor",
        "Two foreign hikers injured near Ya'an bus station after the aftershock, one cannot walk. Please help!",
        None,
    ),
)


def _seed_messages(session: Session, account: Account) -> None:
    for number, (channel, sender, text, kind) in enumerate(DEMO_MESSAGES, start=1):
        is_phone = sender.startswith("+")
        inbound = Inbound(
            channel=channel,
            channel_message_id=f"demo-{number}",
            kind="text",
            text=text,
            requested_kind=kind,
            handle=None if channel == "web" else sender,
            extra_handles=(("phone", sender),) if is_phone else (),
        )
        accept(session, account, inbound, decide_reply=decide_reply)
    session.commit()


def _login_rows() -> list[tuple[str, str, str]]:
    return [(username, role.value, spec.name) for spec in AGENCIES for username, _name, role in spec.staff]


# Followers of the demo account: WeChat (some from the shelters' QR codes), SMS and e-mail, in three counties;
# one in ten asked for bulletins in English (visitors, foreign volunteers).
DEMO_REGIONS = ("511826", "511827", "511802")  # 芦山县, 宝兴县, 雨城区
DEMO_FOLLOWERS = (("wechat", 240), ("sms", 40), ("email", 12))


def _seed_followers(session: Session, account: Account) -> None:
    from wenzheng.citizens.actions import find_or_create_citizen
    from wenzheng.followers.models import Follower

    for channel, count in DEMO_FOLLOWERS:
        for n in range(count):
            handle = {
                "wechat": f"o_demo_follower_{n:04d}",
                "sms": f"+86139081{n:05d}",
                "email": f"follower{n}@example.cn",
            }[channel]
            kind = "phone" if channel == "sms" else channel
            citizen_id = find_or_create_citizen(session, account.agency_id, ((kind, handle),))
            assert citizen_id is not None
            tags = ["qrscene:longmen-shelter"] if channel == "wechat" and n % 4 == 0 else []
            session.add(
                Follower(
                    agency_id=account.agency_id,
                    account_id=account.id,
                    citizen_id=citizen_id,
                    channel=channel,
                    handle=handle,
                    tags=tags,
                    region_code=DEMO_REGIONS[n % len(DEMO_REGIONS)],
                    language="en" if n % 10 == 3 else None,
                )
            )
    session.commit()


def _seed_bulletins(session: Session, account: Account) -> None:
    """A notice and an alert that go out when the demo's worker starts, one waiting for approval, one draft."""
    import datetime as dt

    from wenzheng.bulletins.actions import (
        Draft,
        do_approve_bulletin,
        do_create_bulletin,
        do_send_alert_alone,
        do_submit_bulletin,
    )
    from wenzheng.db import utcnow
    from wenzheng.staff.auth import actor_for_user
    from wenzheng.staff.models import User

    def actor(username: str) -> Actor:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        return actor_for_user(session, user)

    operator, supervisor, admin = actor("yaan-operator"), actor("yaan-supervisor"), actor("yaan-admin")
    water = Draft(
        kind="notice",
        title="芦山县城区恢复供水",
        body="芦山县城区今日18时起恢复供水。水质经检测合格，请煮沸后饮用，并节约用水。",
    )
    notice = do_create_bulletin(session, operator, account, water)
    do_submit_bulletin(session, operator, notice)
    do_approve_bulletin(session, supervisor, notice)
    expires = (utcnow() + dt.timedelta(hours=12)).isoformat(timespec="seconds")
    landslide = Draft(
        kind="alert",
        title="地质灾害橙色预警：宝兴县、芦山县",
        body="受余震和降雨影响，宝兴县、芦山县山区发生滑坡、崩塌的可能性大。",
        audience={"regions": ["511826", "511827"]},
        alert={
            "cap_event": "地质灾害",
            "cap_category": "Geo",
            "cap_urgency": "Expected",
            "cap_certainty": "Likely",
            "cap_response_type": "Evacuate",
            "warning_colour": "orange",
            "cap_instruction": "远离山体、河道；危险区群众立即转移到安置点，勿返回危房。",
            "area_desc": "宝兴县、芦山县",
            "area_codes": "511826 511827",
            "expires_at": expires,
        },
        translations={
            "en": {
                "title": "Orange landslide warning: Baoxing and Lushan counties",
                "body": "Aftershocks and rain make landslides and rockfalls likely in the hills of Baoxing and Lushan.",
                "event": "Landslide",
                "instruction": "Keep away from slopes and rivers. In danger zones, go to a shelter now; do not return "
                "to damaged houses.",
                "area_desc": "Baoxing and Lushan counties",
            }
        },
    )
    alert = do_create_bulletin(session, admin, account, landslide)
    do_send_alert_alone(session, admin, alert)
    shelter = Draft(
        kind="notice",
        title="龙门乡安置点物资发放",
        body="龙门乡中心校安置点明日8时起发放饮用水、帐篷和棉被，请携带身份证领取。",
        audience={"tags": ["qrscene:longmen-shelter"]},
    )
    pending = do_create_bulletin(session, operator, account, shelter)
    do_submit_bulletin(session, operator, pending)
    draft = Draft(kind="news", title="志愿者招募", body="共青团雅安市委招募心理援助志愿者，报名请回复“志愿者”。")
    do_create_bulletin(session, operator, account, draft)
