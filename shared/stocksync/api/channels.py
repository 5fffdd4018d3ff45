"""/channels: integrations with selling venues. Credentials are accepted, stored as secrets, never shown."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from stocksync.api.context import services
from stocksync.api.models import AutomationEventOut, AutomationEventPage, ChannelList, ChannelOut
from stocksync.api.params import ChannelId, PlainCursor, PlainLimit
from stocksync.channels.store import ChannelInput, ChannelPatch
from stocksync.core.db import ChannelRecord

router = Router()

@router.get("/channels", tags=["Channels"], summary="Every channel")
def list_channels() -> ChannelList:
    channels = services().channels.list()
    failures = services().auth_failures.of_channels(channels)
    return ChannelList(channels=[ChannelOut.of(c, failures.get(c.channel_id)) for c in channels])


@router.post("/channels", tags=["Channels"], summary="Add a channel", status_code=201)
def create_channel(channel: Annotated[ChannelInput, Body()]) -> Response[ChannelOut]:
    created = services().channels.create(channel)
    return Response(status_code=201, content_type="application/json", body=ChannelOut.of(created))


@router.get("/channels/<channel_id>", tags=["Channels"], summary="A channel")
def get_channel(channel_id: ChannelId) -> ChannelOut:
    return _shown(services().channels.get(channel_id))


@router.patch("/channels/<channel_id>", tags=["Channels"],
              summary="Change name, locations, settings, credentials or enabled")
def update_channel(channel_id: ChannelId, patch: Annotated[ChannelPatch, Body()]) -> ChannelOut:
    return _shown(services().channels.update(channel_id, patch))


@router.post("/channels/<channel_id>/enable", tags=["Channels"], summary="Enable the channel")
def enable_channel(channel_id: ChannelId) -> ChannelOut:
    return _shown(services().channels.update(channel_id, ChannelPatch(enabled=True)))


@router.post("/channels/<channel_id>/disable", tags=["Channels"], summary="Disable the channel")
def disable_channel(channel_id: ChannelId) -> ChannelOut:
    return _shown(services().channels.update(channel_id, ChannelPatch(enabled=False)))


@router.get("/channels/<channel_id>/events", tags=["Channels"], summary="The channel's automation log, newest first")
def channel_events(
    channel_id: ChannelId,
    limit: PlainLimit = 50,
    cursor: PlainCursor = None,
    kind: Annotated[str | None, Query(max_length=100, description="Only events of this kind")] = None,
) -> AutomationEventPage:
    services().channels.get(channel_id)
    rows, next_cursor = services().automation_log.list(channel_id, limit=limit, cursor=cursor, kind=kind)
    return AutomationEventPage(events=[AutomationEventOut.of(row) for row in rows], next_cursor=next_cursor)


def _shown(channel: ChannelRecord) -> ChannelOut:
    return ChannelOut.of(channel, services().auth_failures.current(channel))


@router.delete("/channels/<channel_id>", tags=["Channels"], summary="Delete the channel, its listings and secret",
               status_code=204)
def delete_channel(channel_id: ChannelId) -> Response[None]:
    services().channels.delete(channel_id)
    return Response(status_code=204)
