"""/channels/{id}/catalogue/report and /catalogue/refresh: the channel's report, asked for and followed.

Amazon: the status requests a report when none exists; a refresh needs {"confirm": true}.
Rakuten: Force Mapping Refresh only while enabled (409) and once in 4 hours (429, Retry-After).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from stocksync.api.context import services
from stocksync.catalogue.retrieval import ReportView

router = Router()

ChannelId = Annotated[str, Path(min_length=1, max_length=64)]


class RefreshInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool = Field(default=False, description="Amazon's Re-request report asks for an explicit confirmation")


class CatalogueReportOut(BaseModel):
    channel_id: str
    channel_type: str
    enabled: bool
    status: str = Field(description="none | idle | requesting | requested | in_progress | writing | done | failed")
    message: str
    report_id: str | None = Field(default=None, description="The channel's id of the report, task or export")
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    document_key: str | None = Field(default=None, description="The last catalogue document written to the bucket")
    pending_request: bool = Field(default=False, description="A refresh is waiting for the next poller run")
    next_retrieval_at: datetime | None = Field(default=None, description="Rakuten: the next scheduled retrieval")
    warning: str | None = Field(default=None, description="Rakuten: the next retrieval is within 5 minutes")
    force_refresh_allowed_at: datetime | None = Field(default=None,
                                                      description="Rakuten: when Force Mapping Refresh is allowed")

    @classmethod
    def of(cls, view: ReportView) -> CatalogueReportOut:
        return cls(**view.__dict__)


@router.get("/channels/<channel_id>/catalogue/report", tags=["Catalogue"],
            summary="The channel's catalogue report: requested, in progress, done (Amazon: requests one if none)")
def catalogue_report(channel_id: ChannelId) -> CatalogueReportOut:
    return CatalogueReportOut.of(services().catalogue_requests.status(channel_id))


@router.post("/channels/<channel_id>/catalogue/refresh", tags=["Catalogue"],
             summary="Ask for a fresh catalogue (Amazon: Re-request report; Rakuten: Force Mapping Refresh)",
             responses={202: {"description": "Requested or scheduled"}, 409: {"description": "Channel disabled"},
                        429: {"description": "Refreshed too recently; Retry-After says when it is allowed"}})
def refresh_catalogue(channel_id: ChannelId,
                      body: Annotated[RefreshInput | None, Body()] = None) -> Response[CatalogueReportOut]:
    view = services().catalogue_requests.refresh(channel_id, confirm=bool(body and body.confirm))
    return Response(status_code=202, content_type="application/json", body=CatalogueReportOut.of(view))
