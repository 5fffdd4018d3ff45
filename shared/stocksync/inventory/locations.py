"""Locations (warehouses). Exactly one is the default; the first one is created on demand."""

from __future__ import annotations

import builtins

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import PutError, TransactWriteError

from stocksync.core import db
from stocksync.core.db import ChannelRecord, LocationRecord, StockLevelRecord, UniqueClaim
from stocksync.core.errors import Conflict, InvalidInput, NotFound
from stocksync.inventory.rules import normalize_sku

NAME_CLAIM = "LOCATION_NAME"
DEFAULT_LOCATION_ID = "default"
DEFAULT_LOCATION_NAME = "Default"


class LocationInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    is_default: bool = False


class LocationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_default: bool | None = Field(default=None, description="true makes this the default location")


def _name_key(name: str) -> str:
    return normalize_sku(name)


class Locations:
    def list(self) -> list[LocationRecord]:
        locations = self._all()
        if not locations:
            self._create_first()
            locations = self._all()
        return locations

    def get(self, location_id: str) -> LocationRecord:
        location = self._read(location_id)
        if location is None and location_id == DEFAULT_LOCATION_ID:
            # A first call may race another that is creating the default location: read again.
            location = self._create_first() if not self._all() else self._read(location_id)
        if location is None:
            raise NotFound(f"No location with id {location_id}", details={"location_id": location_id})
        return location

    @staticmethod
    def _read(location_id: str) -> LocationRecord | None:
        return db.get_or_none(LocationRecord, LocationRecord.keys(location_id, ""))

    def default(self) -> LocationRecord:
        return next(location for location in self.list() if location.is_default)

    def require(self, location_ids: builtins.list[str], field: str) -> None:
        known = {location.location_id for location in self.list()}
        unknown = [location_id for location_id in location_ids if location_id not in known]
        if unknown:
            raise InvalidInput("Unknown locations", details={"field": field, "location_ids": unknown})

    def create(self, data: LocationInput) -> LocationRecord:
        current_default = self.default()
        location_id = db.new_id()
        location = LocationRecord(
            **LocationRecord.keys(location_id, _name_key(data.name)),
            location_id=location_id,
            name=data.name.strip(),
            is_default=data.is_default,
        )
        try:
            with db.transaction() as tx:
                self._claim_name(tx, location)
                tx.save(location, condition=LocationRecord.PK.does_not_exist())
                if data.is_default:
                    current_default.is_default = False
                    tx.save(current_default)
        except TransactWriteError as exc:
            raise self._name_conflict(exc, data.name) from exc
        return location

    def update(self, location_id: str, patch: LocationPatch) -> LocationRecord:
        location = self.get(location_id)
        if patch.is_default is False and location.is_default:
            raise Conflict("Make another location the default instead; there is always one default")
        previous_default = self.default() if patch.is_default and not location.is_default else None
        old_name_key = _name_key(location.name)
        if patch.name is not None:
            location.name = patch.name.strip()
            location.GSI1SK = LocationRecord.keys(location_id, _name_key(location.name))["GSI1SK"]
        if patch.is_default:
            location.is_default = True
        try:
            with db.transaction() as tx:
                if _name_key(location.name) != old_name_key:
                    tx.delete(UniqueClaim(**UniqueClaim.keys(NAME_CLAIM, old_name_key), owner_id=location_id))
                    self._claim_name(tx, location)
                tx.save(location)
                if previous_default:
                    previous_default.is_default = False
                    tx.save(previous_default)
        except TransactWriteError as exc:
            raise self._name_conflict(exc, location.name) from exc
        return location

    def delete(self, location_id: str) -> None:
        location = self.get(location_id)
        if location.is_default:
            raise Conflict("The default location cannot be deleted; make another the default first")
        holding = [
            record.item_id
            for record in StockLevelRecord.gsi1.query(f"LOCATION_STOCK#{location_id}")
            if isinstance(record, StockLevelRecord) and (record.level or record.allocated)
        ]
        if holding:
            raise Conflict("The location still holds stock", details={"item_ids": holding[:50]})
        channels = [
            channel.channel_id
            for channel in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION)
            if isinstance(channel, ChannelRecord) and location_id in channel.location_ids
        ]
        if channels:
            raise Conflict("Channels sell this location's stock", details={"channel_ids": channels})
        with db.transaction() as tx:
            tx.delete(location)
            tx.delete(UniqueClaim(**UniqueClaim.keys(NAME_CLAIM, _name_key(location.name)), owner_id=location_id))

    def _all(self) -> builtins.list[LocationRecord]:
        return [
            record
            for record in LocationRecord.gsi1.query(db.LOCATIONS_PARTITION)
            if isinstance(record, LocationRecord)
        ]

    def _create_first(self) -> LocationRecord:
        """The default location, made once (its fixed id makes concurrent first calls agree)."""
        location = LocationRecord(
            **LocationRecord.keys(DEFAULT_LOCATION_ID, _name_key(DEFAULT_LOCATION_NAME)),
            location_id=DEFAULT_LOCATION_ID,
            name=DEFAULT_LOCATION_NAME,
            is_default=True,
        )
        try:
            with db.transaction() as tx:
                self._claim_name(tx, location)
                tx.save(location, condition=LocationRecord.PK.does_not_exist())
        except (TransactWriteError, PutError):
            pass  # another call made it first
        return self.get(DEFAULT_LOCATION_ID)

    @staticmethod
    def _claim_name(tx: db.TransactWrite, location: LocationRecord) -> None:
        claim = UniqueClaim(**UniqueClaim.keys(NAME_CLAIM, _name_key(location.name)), owner_id=location.location_id)
        tx.save(claim, condition=UniqueClaim.PK.does_not_exist())

    @staticmethod
    def _name_conflict(exc: TransactWriteError, name: str) -> Conflict:
        if any(db.failed_conditions(exc)):
            return Conflict(f"A location named {name!r} already exists", code="name_taken")
        return Conflict("The location changed while it was being saved; retry")
