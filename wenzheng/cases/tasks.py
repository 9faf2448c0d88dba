"""Jobs of cases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wenzheng.cases.actions import escalate_overdue
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task


@task("cases.escalate_overdue")
def escalate(session: Session, job: Job) -> None:
    """督办 sweep: open cases past their public time limit are escalated to the supervisors."""
    escalate_overdue(session)
