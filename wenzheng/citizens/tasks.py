"""Jobs about citizens' personal data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wenzheng.citizens.retention import apply_retention
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task


@task("citizens.apply_retention")
def apply_retention_periods(session: Session, job: Job) -> None:
    """Erase the personal data every agency's retention period has run out on (periodic; see citizens.retention)."""
    apply_retention(session)
