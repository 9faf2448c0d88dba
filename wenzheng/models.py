"""Import every model so that ``Base.metadata`` knows the whole schema (Alembic, tests)."""

from wenzheng.accounts.models import Account, AccountNameChange
from wenzheng.agencies.models import Agency, Department
from wenzheng.assessments.models import Assessment
from wenzheng.audit.models import AuditEvent
from wenzheng.autoreplies.models import AutoReplyRule
from wenzheng.bulletins.models import Bulletin, BulletinDelivery, BulletinFanout, DeploymentKey, PushSubscription
from wenzheng.cases.canned import CannedReply
from wenzheng.cases.models import CalendarException, Case, CaseTransfer
from wenzheng.channels.models import EmailBinding, IntakeThrottle, SmsBinding, StatusLink
from wenzheng.channels.wechat.models import MassSend, WeChatAccessToken, WeChatBinding
from wenzheng.citizens.models import Citizen, CitizenHandle
from wenzheng.db import Base
from wenzheng.followers.models import Follower
from wenzheng.jobs.models import Job
from wenzheng.messages.models import Attachment, Message
from wenzheng.routing.models import RoutingRule
from wenzheng.staff.models import ApiToken, LoginAttempt, Membership, StaffSession, User

__all__ = [
    "Account",
    "AccountNameChange",
    "Agency",
    "ApiToken",
    "Assessment",
    "Attachment",
    "AuditEvent",
    "AutoReplyRule",
    "Base",
    "Bulletin",
    "BulletinDelivery",
    "BulletinFanout",
    "CalendarException",
    "CannedReply",
    "Case",
    "CaseTransfer",
    "Citizen",
    "CitizenHandle",
    "Department",
    "DeploymentKey",
    "EmailBinding",
    "Follower",
    "IntakeThrottle",
    "Job",
    "LoginAttempt",
    "MassSend",
    "Membership",
    "Message",
    "PushSubscription",
    "RoutingRule",
    "SmsBinding",
    "StaffSession",
    "StatusLink",
    "User",
    "WeChatAccessToken",
    "WeChatBinding",
]
