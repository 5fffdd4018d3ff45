"""/jobs/{job_id}: progress and result of long work the API queued."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from stocksync.api.context import services
from stocksync.api.models import JobOut
from stocksync.api.params import JobId

router = Router()


@router.get("/jobs/<job_id>", tags=["Jobs"], summary="A job's progress (done of total), result and errors")
def get_job(job_id: JobId) -> JobOut:
    return JobOut.of(services().jobs.get(job_id))
