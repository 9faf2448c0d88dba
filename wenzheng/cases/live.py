"""What changed in an agency's cases since a moment: the feed behind the console's live queue.

Polling the database from the server (and pushing to browsers over Server-Sent Events) works the same
whichever process did the change and on both engines; a short interval keeps a new P0 within a second.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.cases.models import Case

MAX_EVENTS = 100


def changed_since(session: Session, agency_id: int, since: dt.datetime) -> list[Case]:
    return list(
        session.execute(
            select(Case)
            .where(Case.agency_id == agency_id, Case.updated_at > since)
            .order_by(Case.updated_at, Case.id)
            .limit(MAX_EVENTS)
        ).scalars()
    )


def as_event(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "ref": case.ref,
        "urgency": case.urgency,
        "intent": case.intent,
        "state": case.state,
        "summary": case.summary[:100],
        "message_count": case.message_count,
        "acknowledged": case.acknowledged_at is not None,
        "url": f"/console/cases/{case.id}",
        "updated_at": case.updated_at.isoformat(),
    }
