"""Jobs of cases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wenzheng.cases.actions import escalate_overdue
from wenzheng.cases.assign import assign_waiting_everywhere
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task


@task("cases.escalate_overdue")
def escalate(session: Session, job: Job) -> None:
    """督办 sweep: open cases past their public time limit (an unacknowledged P0's ten minutes included) are
    escalated to the supervisors."""
    escalate_overdue(session)


@task("cases.assign_waiting")
def assign_waiting(session: Session, job: Job) -> None:
    """Round-robin sweep: waiting cases of every department with someone on duty and below capacity get a person
    (the actions that make room fill at once; this catches the rest)."""
    assign_waiting_everywhere(session)
