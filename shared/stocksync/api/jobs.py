"""/jobs: progress and result of long work the API queued, one job or a subject's recent ones."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from stocksync.api.context import services
from stocksync.api.models import JobOut, JobPage
from stocksync.api.params import Cursor, JobId, Limit

router = Router()


@router.get("/jobs", tags=["Jobs"], summary="A channel's or PIM profile's jobs, newest first")
def list_jobs(
    subject: Annotated[str, Query(min_length=1, max_length=64,
                                  description="What the jobs worked on: a channel id or a PIM profile id")],
    limit: Limit = 20,
    cursor: Cursor = None,
) -> JobPage:
    rows, next_cursor = services().jobs.page_for(subject, limit=limit, cursor=cursor)
    return JobPage(jobs=[JobOut.of(job) for job in rows], next_cursor=next_cursor)


@router.get("/jobs/<job_id>", tags=["Jobs"], summary="A job's progress (done of total), result and errors")
def get_job(job_id: JobId) -> JobOut:
    return JobOut.of(services().jobs.get(job_id))
