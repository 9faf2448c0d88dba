"""The project's own tasks. Importing this module registers every one of them.

Tasks that belong to a domain package live there (``wenzheng/<concept>/tasks.py``) and are imported
below, so that the worker and ``enqueue`` know the whole set from one import.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from wenzheng.assessments import tasks as assessment_tasks  # noqa: F401 - registers triage.assess
from wenzheng.attachments import tasks as attachment_tasks  # noqa: F401 - registers attachments.*
from wenzheng.bulletins import fanout as bulletin_tasks  # noqa: F401 - registers the bulletins.* tasks
from wenzheng.cases import tasks as case_tasks  # noqa: F401 - registers cases.*
from wenzheng.channels.email import tasks as email_tasks  # noqa: F401 - registers the email.* tasks
from wenzheng.channels.sms import tasks as sms_tasks  # noqa: F401 - registers the sms.* tasks
from wenzheng.channels.web.throttle import forget_old_counts
from wenzheng.channels.wechat import tasks as wechat_tasks  # noqa: F401 - registers the wechat.* tasks
from wenzheng.citizens import tasks as citizen_tasks  # noqa: F401 - registers citizens.*
from wenzheng.db import utcnow
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task
from wenzheng.staff.models import LoginAttempt, StaffSession

# Login throttling looks back minutes (login_window_minutes); a day keeps some history for support.
LOGIN_ATTEMPT_RETENTION = dt.timedelta(days=1)


@task("staff.purge_expired_sessions")
def purge_expired_sessions(session: Session, job: Job) -> None:
    """Delete staff sessions past their expiry, login attempts older than a day, and stale abuse counters."""
    now = utcnow()
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - LOGIN_ATTEMPT_RETENTION))
    forget_old_counts(session)  # the citizen channels' abuse counters look back one hour
