"""The platform admin's page: agencies on the platform, and background jobs that failed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.agencies.access import visible_agencies
from wenzheng.agencies.actions import do_create_agency
from wenzheng.jobs.actions import access_job_by_id, dead_jobs, do_retry_job, job_counts_by_state
from wenzheng.staff.actor import Actor
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console/platform")


@router.get("")
def platform_page(request: Request, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> Response:
    actor.require_platform_admin()
    return render(
        request,
        "console/platform.html",
        {
            "agencies": visible_agencies(db, actor),
            "job_counts": job_counts_by_state(db),
            "dead_jobs": dead_jobs(db, actor),
        },
    )


@router.post("/agencies")
def create_agency(
    slug: str = Form(""),
    name: str = Form(""),
    timezone: str = Form("Asia/Shanghai"),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = do_create_agency(db, actor, slug=slug, name=name, timezone=timezone)
    return see_other(f"/console/agencies/{agency.id}", notice="created")


@router.post("/jobs/{job_id}/retry")
def retry_job(job_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> Response:
    job = access_job_by_id(db, actor, job_id)
    do_retry_job(db, actor, job)
    return see_other("/console/platform", notice="retried")
