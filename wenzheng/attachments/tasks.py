"""Jobs about stored files."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.attachments.store import get_store
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task
from wenzheng.messages.models import Attachment


@task("attachments.delete_unreferenced")
def delete_unreferenced(session: Session, job: Job) -> None:
    """Delete the stored files (payload {"sha256": [...]}) that no attachment refers to any more.

    Queued by whoever deleted the rows, in the same transaction, so it runs only once they are gone; the same bytes
    sent again meanwhile (a new attachment row) keep their file.
    """
    wanted = [str(sha) for sha in job.payload.get("sha256", [])]
    if not wanted:
        return
    kept = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(wanted))))
    store = get_store()
    for sha256 in wanted:
        if sha256 not in kept:
            store.delete(sha256)
