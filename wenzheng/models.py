"""Import every model so that ``Base.metadata`` knows the whole schema (Alembic, tests)."""

from wenzheng.accounts.models import Account, AccountNameChange
from wenzheng.agencies.models import Agency, Department
from wenzheng.audit.models import AuditEvent
from wenzheng.db import Base
from wenzheng.jobs.models import Job
from wenzheng.staff.models import ApiToken, LoginAttempt, Membership, StaffSession, User

__all__ = [
    "Account",
    "AccountNameChange",
    "Agency",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Department",
    "Job",
    "LoginAttempt",
    "Membership",
    "StaffSession",
    "User",
]
