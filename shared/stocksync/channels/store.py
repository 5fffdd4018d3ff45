"""Channel records: one integration with a selling venue. Credentials go to Secrets Manager."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import TransactWriteError

from stocksync.channels.types import ChannelType, validate_credentials, validate_settings
from stocksync.core import db
from stocksync.core.db import ChannelRecord, Record, UniqueClaim
from stocksync.core.errors import Conflict, NotFound
from stocksync.core.messages import StockChange, StockChangePublisher
from stocksync.core.secrets import CredentialStore
from stocksync.inventory.locations import Locations
from stocksync.inventory.rules import normalize_sku

NAME_CLAIM = "CHANNEL_NAME"


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    location_ids: list[str] | None = Field(default=None, min_length=1,
                                           description="Locations whose stock this channel sells")
    settings: dict[str, Any] | None = Field(default=None, description="Merged into the type's settings")
    credentials: dict[str, str] | None = Field(
        default=None, description="Written to AWS Secrets Manager; never returned"
    )


class ChannelInput(ChannelPatch):
    name: str = Field(min_length=1, max_length=200)
    type: ChannelType
    enabled: bool = True
    location_ids: list[str] | None = Field(default=None, min_length=1,
                                           description="Defaults to the default location")


class ChannelDirectory:
    """The channels, read only: for functions that look channels up and never change them."""

    def list(self) -> list[ChannelRecord]:
        return [c for c in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION) if isinstance(c, ChannelRecord)]

    def get(self, channel_id: str) -> ChannelRecord:
        channel = db.get_or_none(ChannelRecord, ChannelRecord.keys(channel_id, ""))
        if channel is None:
            raise NotFound(f"No channel with id {channel_id}", details={"channel_id": channel_id})
        return channel


class ChannelStore(ChannelDirectory):
    def __init__(self, queue: StockChangePublisher, credentials: CredentialStore, locations: Locations,
                 secrets_prefix: str | None) -> None:
        """`secrets_prefix` names new credentials' secrets; None in a function that stores none."""
        self.queue = queue
        self.credentials = credentials
        self.locations = locations
        self.secrets_prefix = secrets_prefix

    def create(self, data: ChannelInput) -> ChannelRecord:
        settings = validate_settings(data.type, data.settings or {})
        self._check_order_location(settings)
        if data.credentials is not None:
            validate_credentials(data.type, data.credentials)
        location_ids = _unique(data.location_ids or [self.locations.default().location_id])
        self.locations.require(location_ids, "location_ids")
        channel_id = db.new_id()
        channel = ChannelRecord(
            **ChannelRecord.keys(channel_id, normalize_sku(data.name)), channel_id=channel_id,
            name=data.name.strip(), type=data.type.value, enabled=data.enabled,
            location_ids=location_ids, settings=settings,
        )
        if data.credentials:
            self._store_credentials(channel, data.credentials)
        try:
            with db.transaction() as tx:
                tx.save(_name_claim(channel), condition=UniqueClaim.PK.does_not_exist())
                tx.save(channel, condition=ChannelRecord.PK.does_not_exist())
        except TransactWriteError as exc:
            if channel.credentials_secret:
                self.credentials.delete(channel.credentials_secret)
            raise Conflict(f"A channel named {data.name!r} already exists", code="name_taken") from exc
        return channel

    def update(self, channel_id: str, patch: ChannelPatch) -> ChannelRecord:
        channel = self.get(channel_id)
        channel_type = ChannelType(channel.type)
        settings = validate_settings(channel_type, {**channel.settings.as_dict(), **(patch.settings or {})}) \
            if patch.settings is not None else None
        if settings is not None:
            self._check_order_location(settings)
        if patch.credentials is not None:
            validate_credentials(channel_type, patch.credentials)
        if patch.location_ids is not None:
            self.locations.require(_unique(patch.location_ids), "location_ids")

        old_claim = _name_claim(channel)
        restock = False
        if patch.name is not None:
            channel.name = patch.name.strip()
            channel.GSI1SK = ChannelRecord.keys(channel_id, normalize_sku(channel.name))["GSI1SK"]
        if patch.enabled is not None:
            restock = patch.enabled and not channel.enabled
            channel.enabled = patch.enabled
        if patch.location_ids is not None:
            new_locations = _unique(patch.location_ids)
            restock = restock or set(new_locations) != set(channel.location_ids)
            channel.location_ids = new_locations
        if settings is not None:
            channel.settings = settings
        if patch.credentials:
            self._store_credentials(channel, patch.credentials)
        channel.updated_at = db.now()

        new_claim = _name_claim(channel)
        try:
            with db.transaction() as tx:
                if new_claim.PK != old_claim.PK:
                    tx.delete(old_claim)
                    tx.save(new_claim, condition=UniqueClaim.PK.does_not_exist())
                tx.save(channel)
        except TransactWriteError as exc:
            raise Conflict(
                f"A channel named {channel.name!r} already exists, or the channel changed meanwhile",
                code="name_taken",
            ) from exc
        if restock:
            self.queue.publish([StockChange(reason="channel_changed", channel_ids=[channel_id], all_items=True)])
        return channel

    def delete(self, channel_id: str) -> None:
        channel = self.get(channel_id)
        with ChannelRecord.batch_write() as batch:
            for record in Record.query(db.channel_pk(channel_id)):
                if not isinstance(record, ChannelRecord):
                    batch.delete(record)
        with db.transaction() as tx:
            tx.delete(channel)
            tx.delete(_name_claim(channel))
        if channel.credentials_secret:
            self.credentials.delete(channel.credentials_secret)

    def _check_order_location(self, settings: dict[str, Any]) -> None:
        if settings.get("order_location_id"):
            self.locations.require([settings["order_location_id"]], "settings.order_location_id")

    def _store_credentials(self, channel: ChannelRecord, credentials: dict[str, str]) -> None:
        if not channel.credentials_secret and self.secrets_prefix is None:
            raise RuntimeError("this function was built without a secrets prefix to store credentials under")
        name = channel.credentials_secret or f"{self.secrets_prefix}channels/{channel.channel_id}"
        self.credentials.put(name, credentials)
        channel.credentials_secret = name
        channel.credentials_updated_at = db.now()


def _name_claim(channel: ChannelRecord) -> UniqueClaim:
    return UniqueClaim(**UniqueClaim.keys(NAME_CLAIM, normalize_sku(channel.name)), owner_id=channel.channel_id)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))
