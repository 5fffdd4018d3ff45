"""/channels/{id}/catalogue/report and /catalogue/refresh: the channel's report, asked for and followed.

Amazon: the status requests a report when none exists; a refresh needs {"confirm": true}.
Rakuten: Force Mapping Refresh only while enabled (409) and once in 4 hours (429, Retry-After).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from stocksync.api.context import services
from stocksync.api.models import CatalogueReportOut, RefreshInput
from stocksync.api.params import ChannelId

router = Router()


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
