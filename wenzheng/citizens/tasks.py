"""Jobs about citizens' personal data."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from wenzheng.citizens.retention import apply_retention
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import leased_task


@leased_task("citizens.apply_retention", lease_seconds=1800.0)
def apply_retention_periods(session_factory: Callable[[], Session], job: Job) -> None:
    """Erase the personal data every agency's retention period has run out on (periodic; see citizens.retention).
    Leased: it commits a chunk of cases at a time, and a run cut short is taken up by the next."""
    apply_retention(session_factory)
