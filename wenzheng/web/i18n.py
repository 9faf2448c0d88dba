"""Console text in Chinese (default) and English. Every key must have both; a test checks it."""

from __future__ import annotations

from starlette.requests import Request

from wenzheng.config import get_settings

LANGUAGES = ("zh", "en")
LANG_COOKIE = "wz_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("问政", "wenzheng"),
    "app.tagline": ("政务公众号平台", "Public-service accounts for government agencies"),
    "nav.home": ("首页", "Home"),
    "nav.staff": ("人员", "Staff"),
    "nav.tokens": ("API 令牌", "API tokens"),
    "nav.platform": ("平台管理", "Platform"),
    "nav.audit": ("操作日志", "Audit log"),
    "audit.title": ("操作日志", "Audit log"),
    "audit.hint": (
        "谁在何时做了什么。每一项更改都与其日志在同一事务中写入。",
        "Who did what, when. Every change is written together with its entry.",
    ),
    "audit.empty": ("还没有记录。", "Nothing recorded yet."),
    "audit.when": ("时间", "When"),
    "audit.who": ("操作人", "Who"),
    "audit.what": ("操作", "What"),
    "audit.details": ("详情", "Details"),
    "audit.system": ("系统", "System"),
    "nav.logout": ("退出", "Log out"),
    "nav.language": ("English", "中文"),
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.expired": ("登录已过期，请重新登录。", "Your session has expired. Please log in again."),
    "login.required": ("请先登录。", "Please log in."),
    "login.logged_out": ("您已退出。", "You have logged out."),
    "home.title": ("我的机构", "My agencies"),
    "home.empty": (
        "您还不属于任何机构。请联系机构管理员把您加入人员名单。",
        "You are not on any agency's staff yet. Ask an agency admin to add you.",
    ),
    "agency.accounts": ("公众号", "Accounts"),
    "agency.departments": ("部门", "Departments"),
    "agency.no_accounts": (
        "还没有公众号。管理员可在下方创建。",
        "No accounts yet. An admin can create one below.",
    ),
    "agency.no_departments": (
        "还没有部门。管理员可在下方添加。",
        "No departments yet. An admin can add one below.",
    ),
    "agency.add_department": ("添加部门", "Add a department"),
    "agency.add_account": ("创建公众号", "Create an account"),
    "agency.your_role": ("您的角色", "Your role"),
    "field.name": ("名称", "Name"),
    "field.slug": ("地址标识", "Address (slug)"),
    "field.description": ("简介", "Description"),
    "field.role": ("角色", "Role"),
    "field.display_name": ("姓名", "Display name"),
    "field.timezone": ("时区", "Time zone"),
    "field.created": ("创建时间", "Created"),
    "action.save": ("保存", "Save"),
    "action.add": ("添加", "Add"),
    "action.create": ("创建", "Create"),
    "action.remove": ("移除", "Remove"),
    "action.revoke": ("吊销", "Revoke"),
    "action.rename": ("改名", "Rename"),
    "action.verify": ("认证", "Verify"),
    "action.unverify": ("取消认证", "Remove verification"),
    "action.retry": ("重试", "Retry"),
    "action.back": ("返回", "Go back"),
    "account.verified": ("已认证", "Verified"),
    "account.unverified": ("未认证", "Not verified"),
    "account.name_history": ("名称历史", "Name history"),
    "account.no_history": ("从未改名。", "Never renamed."),
    "account.renamed_from": ("原名", "Formerly"),
    "account.new_name": ("新名称", "New name"),
    "account.verify_note": ("只有平台管理员可以认证公众号。", "Only a platform admin can verify an account."),
    "staff.title": ("人员管理", "Staff"),
    "staff.add": ("添加人员", "Add staff"),
    "staff.add_hint": (
        "填写已有用户名即可加入；新用户需同时设置初始密码（至少 10 位）。",
        "Give an existing username to add them; for a new user also set a first password (10+ characters).",
    ),
    "staff.password": ("初始密码（新用户）", "First password (new users)"),
    "staff.last_login": ("上次登录", "Last login"),
    "staff.never": ("从未", "Never"),
    "tokens.title": ("API 令牌", "API tokens"),
    "tokens.hint": (
        "令牌供外部系统调用 /api/v1。令牌只显示一次，请立即保存。",
        "Tokens let other systems call /api/v1. A token is shown once: copy it now.",
    ),
    "tokens.created": ("新令牌（只显示这一次）：", "New token (shown only this once):"),
    "tokens.empty": ("还没有令牌。", "No tokens yet."),
    "tokens.revoked": ("已吊销", "Revoked"),
    "tokens.active": ("有效", "Active"),
    "platform.title": ("平台管理", "Platform"),
    "platform.agencies": ("机构", "Agencies"),
    "platform.add_agency": ("新建机构", "New agency"),
    "platform.jobs": ("后台任务", "Background jobs"),
    "platform.dead_jobs": ("失败任务（死信）", "Failed jobs (dead letters)"),
    "platform.no_dead_jobs": ("没有失败的任务。", "No failed jobs."),
    "role.viewer": ("查看员", "Viewer"),
    "role.operator": ("坐席", "Operator"),
    "role.supervisor": ("主管", "Supervisor"),
    "role.admin": ("管理员", "Admin"),
    "role.platform_admin": ("平台管理员", "Platform admin"),
    "notice.saved": ("已保存。", "Saved."),
    "notice.created": ("已创建。", "Created."),
    "notice.renamed": ("已改名，原名已记入名称历史。", "Renamed; the old name is kept in the history."),
    "notice.removed": ("已移除。", "Removed."),
    "notice.revoked": ("已吊销。", "Revoked."),
    "notice.verified": ("认证状态已更新。", "Verification updated."),
    "notice.retried": ("任务已重新排队。", "Job queued again."),
    "error.title": ("出错了", "Something went wrong"),
    "error.code": ("错误代码", "Error code"),
}


def language_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGUAGES else get_settings().default_language


def translate(key: str, lang: str) -> str:
    zh, en = MESSAGES[key]
    return en if lang == "en" else zh
